// SourcePositions for a source whose writers forward watermarks (a
// repartition topic of a scaled-out job): a partition's event time is the
// smallest of its writers' watermarks, without the idle ones, none until
// every writer has spoken; it survives a checkpoint.

#include "runtime/engine/source_positions.h"

#include <gtest/gtest.h>

namespace eddy {
namespace {

// A source with one partition and `writers` upstream writers; only what
// SourcePositions asks of it.
class ForwardedSource final : public Source {
 public:
  explicit ForwardedSource(int32_t writers) : writers_(writers) {}
  const std::string& name() const override { return name_; }
  const Schema& schema() const override { return schema_; }
  Status Open() override { return Status::OK(); }
  const std::vector<SourcePartition>& partitions() const override { return partitions_; }
  Result<Offsets> InitialOffsets() override { return Offsets{Offset{0}}; }
  Result<Offsets> LatestOffsets() override { return Offsets{Offset{0}}; }
  Status Read(const PartitionRange&, const std::atomic<bool>&, Batch*, DeadLetters*) override {
    return Status::OK();
  }
  int32_t upstream_writers() const override { return writers_; }

 private:
  int32_t writers_;
  std::string name_ = "through";
  Schema schema_;
  std::vector<SourcePartition> partitions_{{"job.op.repartition", PartitionId{0}}};
};

class ForwardedWatermarksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plan_.sources.push_back(std::make_unique<ForwardedSource>(3));
    SourceEventTime time;
    time.column = 0;
    time.max_out_of_orderness = 5'000'000;  // not taken off a forwarded watermark
    plan_.event_time.push_back(time);
  }

  // One batch that read `marks` from the partition.
  static std::vector<Task> Batch(std::vector<UpstreamWatermark> marks) {
    Task task;
    task.range = {0, Offset{0}, Offset{1}};
    task.max_event_time = 999'000'000;  // the rows' time: ignored
    task.upstream_watermarks = std::move(marks);
    return {std::move(task)};
  }

  JobPlan plan_;
};

TEST_F(ForwardedWatermarksTest, TheSmallestWriterHoldsItOnceAllHaveSpoken) {
  SourcePositions positions(plan_);
  const auto now = Clock::now();
  positions.Init(0, {Offset{0}}, now);
  positions.AdvanceEventTime(Batch({{0, 100, false}, {2, 300, false}}), now);
  EXPECT_FALSE(positions.watermarks()[0]) << "writer 1 has not spoken";
  positions.AdvanceEventTime(Batch({{1, 200, false}}), now);
  EXPECT_EQ(positions.watermarks()[0], 100);
  positions.AdvanceEventTime(Batch({{0, 250, false}}), now);
  EXPECT_EQ(positions.watermarks()[0], 200);
  // An idle writer sits out; when all are idle, the largest counts.
  positions.AdvanceEventTime(Batch({{1, 200, true}}), now);
  EXPECT_EQ(positions.watermarks()[0], 250);
  positions.AdvanceEventTime(Batch({{0, 260, true}, {2, 300, true}}), now);
  EXPECT_EQ(positions.watermarks()[0], 300);
  // Back from idle at a lower watermark: the source's watermark never goes back.
  positions.AdvanceEventTime(Batch({{1, 210, false}}), now);
  EXPECT_EQ(positions.watermarks()[0], 300);
}

TEST_F(ForwardedWatermarksTest, WritersWatermarksSurviveACheckpoint) {
  SourcePositions before(plan_);
  const auto now = Clock::now();
  before.Init(0, {Offset{0}}, now);
  before.AdvanceEventTime(Batch({{0, 100, false}, {1, 400, true}}), now);
  state::CheckpointManifest progress;
  before.Save(&progress);

  SourcePositions after(plan_);
  after.Init(0, {Offset{0}}, now);
  after.Restore(0, progress);
  // Writer 2's first watermark decides, with writer 1 still idle.
  after.AdvanceEventTime(Batch({{2, 150, false}}), now);
  EXPECT_EQ(after.watermarks()[0], 100);
  after.AdvanceEventTime(Batch({{0, 500, false}}), now);
  EXPECT_EQ(after.watermarks()[0], 150);
}

}  // namespace
}  // namespace eddy
