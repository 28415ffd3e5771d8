// The offsets log: entries round-trip, replace, are removed before a batch
// id, and an unreadable entry is Corruption, not a silently empty plan.

#include "state/offsets_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace eddy {
namespace {

namespace fs = std::filesystem;

class OffsetsLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("eddy-offsets-log-" + std::to_string(random()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  static state::PlannedBatch Planned(int64_t batch_id, int64_t end) {
    state::PlannedBatch planned;
    planned.set_batch_id(batch_id);
    state::PlannedRange* range = planned.add_sources()->add_partitions();
    range->set_topic("events");
    range->set_partition(2);
    range->set_start(end - 10);
    range->set_end(end);
    range->set_idle(batch_id % 2 == 0);
    state::SinkPosition* sink = planned.add_sinks();
    sink->set_sink("out");
    sink->set_position(std::to_string(end * 100));
    return planned;
  }

  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(OffsetsLogTest, EntriesRoundTripAndReplace) {
  OffsetsLog log(dir_.string());
  auto missing = log.Read(1);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(log.Append(Planned(1, 10)).ok());
  ASSERT_TRUE(log.Append(Planned(2, 20)).ok());
  ASSERT_TRUE(log.Append(Planned(2, 25)).ok());  // planned again: replaces
  EXPECT_EQ(Entries(), (std::vector<std::string>{"000000000001", "000000000002"}));
  auto second = log.Read(2);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->SerializeAsString(), Planned(2, 25).SerializeAsString());
}

// A shard's planner: a batch another instance already planned stays as it
// was planned, and the late planner hears why.
TEST_F(OffsetsLogTest, AppendNewNeverReplacesAnotherPlannersEntry) {
  OffsetsLog owner(dir_.string());
  OffsetsLog zombie(dir_.string());
  ASSERT_TRUE(owner.AppendNew(Planned(7, 70)).ok());
  const Status late = zombie.AppendNew(Planned(7, 99));
  EXPECT_EQ(late.code(), StatusCode::kAlreadyExists) << late.ToString();
  EXPECT_NE(late.message().find("planned by another instance"), std::string::npos);
  auto kept = owner.Read(7);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->SerializeAsString(), Planned(7, 70).SerializeAsString());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"000000000007"}));  // no temporaries left
  EXPECT_TRUE(zombie.AppendNew(Planned(8, 80)).ok());
}

TEST_F(OffsetsLogTest, TruncateBeforeRemovesOlderEntriesOnly) {
  OffsetsLog log(dir_.string());
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(log.Append(Planned(id, id * 10)).ok());
  std::ofstream(dir_ / ".tmp-000000000006") << "a crash's leftover";
  ASSERT_TRUE(log.TruncateBefore(4).ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"000000000004", "000000000005"}));
  // A log that was never written truncates without error.
  OffsetsLog empty((dir_ / "none").string());
  EXPECT_TRUE(empty.TruncateBefore(10).ok());
}

TEST_F(OffsetsLogTest, AnUnreadableEntryIsCorruption) {
  OffsetsLog log(dir_.string());
  ASSERT_TRUE(log.Append(Planned(7, 70)).ok());
  std::ofstream(dir_ / "000000000007", std::ios::binary | std::ios::trunc) << "\xff\xff garbage";
  auto read = log.Read(7);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find("000000000007"), std::string::npos);
}

}  // namespace
}  // namespace eddy
