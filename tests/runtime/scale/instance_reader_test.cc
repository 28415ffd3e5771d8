// How a reader judges the records of a scaled-out job's status topic
// (runtime/scale/instance_reader.h): the newest record per instance, lost
// instances, and claims on one partition by two instances. Records are
// built in memory; the integration test (scale_out_test.cc) reads them
// from real instances through a broker.

#include "runtime/scale/instance_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eddy {
namespace {

constexpr int64_t kNow = 1'767'225'600'000;  // 2026-01-01
constexpr int64_t kSession = 6000;

// A record of `instance` written `age_ms` before kNow at `offset` of
// partition 0, claiming `partitions` of topic "events".
InstanceStatusRecord Record(const std::string& instance, int64_t offset, int64_t age_ms,
                            std::vector<int32_t> partitions, int64_t generation = 1,
                            const std::string& state = "running") {
  InstanceStatusRecord record;
  record.offset = offset;
  record.status.instance = instance;
  record.status.state = state;
  record.status.generation = generation;
  record.status.assigned_unix_ms = kNow - age_ms;
  record.status.session_timeout_ms = kSession;
  record.status.written_unix_ms = kNow - age_ms;
  if (!partitions.empty()) record.status.partitions["events"] = std::move(partitions);
  return record;
}

const InstanceView& Find(const std::vector<InstanceView>& views, const std::string& instance) {
  for (const InstanceView& view : views) {
    if (view.status.instance == instance) return view;
  }
  ADD_FAILURE() << "no instance " << instance;
  static const InstanceView kNone;
  return kNone;
}

TEST(InstanceReader, TheHighestOffsetOfAnInstanceWinsWhateverItsClockSays) {
  // b's clock runs behind: its newer record (offset 5) says it was written
  // earlier than its older one. The offset, set by the broker, decides.
  std::vector<InstanceStatusRecord> records = {Record("b", 5, 900, {0, 1}),
                                               Record("a", 3, 100, {2}), Record("b", 2, 100, {2})};
  const auto views = ResolveInstances(records, kNow);
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].status.instance, "a");  // sorted by name
  EXPECT_EQ(Find(views, "b").owned, (PartitionsByTopic{{"events", {0, 1}}}));
  EXPECT_EQ(Find(views, "a").owned, (PartitionsByTopic{{"events", {2}}}));
}

TEST(InstanceReader, AcrossPartitionsOfTheTopicTheLaterWrittenRecordWins) {
  InstanceStatusRecord older = Record("a", 9, 2000, {0});
  InstanceStatusRecord newer = Record("a", 1, 100, {1});
  newer.partition = 1;
  const auto views = ResolveInstances({older, newer}, kNow);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].owned, (PartitionsByTopic{{"events", {1}}}));
}

TEST(InstanceReader, ASilentInstanceIsLostAfterTwoSessionTimeoutsAndOwnsNothing) {
  const auto views = ResolveInstances(
      {Record("a", 0, 2 * kSession - 1, {0, 1}), Record("b", 1, 2 * kSession + 1, {2, 3})}, kNow);
  EXPECT_EQ(Find(views, "a").state, "running");
  EXPECT_EQ(Find(views, "a").owned, (PartitionsByTopic{{"events", {0, 1}}}));
  const InstanceView& b = Find(views, "b");
  EXPECT_EQ(b.state, "lost");
  EXPECT_EQ(b.status.state, "running");  // what it said last
  EXPECT_TRUE(b.owned.empty());
  EXPECT_EQ(b.stale, (PartitionsByTopic{{"events", {2, 3}}}));
  EXPECT_EQ(b.age_ms, 2 * kSession + 1);
}

TEST(InstanceReader, AStoppedInstanceOwnsNothingHoweverOldItsRecord) {
  const auto views =
      ResolveInstances({Record("a", 0, 100, {}, 1, "running"), Record("a", 1, 50, {}, 1, "stopped"),
                        Record("b", 2, 10 * kSession, {}, 1, "stopped")},
                       kNow);
  EXPECT_EQ(Find(views, "a").state, "stopped");
  EXPECT_EQ(Find(views, "b").state, "stopped");  // not lost: it left cleanly
  EXPECT_EQ(Find(views, "b").status.state, "stopped");
}

TEST(InstanceReader, OfTwoLiveClaimsOnAPartitionTheNewerGenerationWins) {
  // a was frozen with partition 2 of generation 4; the group gave it to b
  // in generation 5. a's record is recent (it woke and wrote before it
  // learnt), so only the generation tells them apart.
  const auto views = ResolveInstances(
      {Record("a", 0, 100, {1, 2}, /*generation=*/4), Record("b", 1, 500, {2, 3}, 5)}, kNow);
  const InstanceView& a = Find(views, "a");
  const InstanceView& b = Find(views, "b");
  EXPECT_EQ(a.owned, (PartitionsByTopic{{"events", {1}}}));
  EXPECT_EQ(a.stale, (PartitionsByTopic{{"events", {2}}}));
  EXPECT_EQ(b.owned, (PartitionsByTopic{{"events", {2, 3}}}));
  EXPECT_TRUE(b.stale.empty());
}

TEST(InstanceReader, WithoutGenerationsTheLaterAssignmentWins) {
  InstanceStatusRecord first = Record("a", 0, 100, {0}, /*generation=*/-1);
  first.status.assigned_unix_ms = kNow - 5000;
  InstanceStatusRecord second = Record("b", 1, 300, {0}, -1);
  second.status.assigned_unix_ms = kNow - 1000;
  const auto views = ResolveInstances({first, second}, kNow);
  EXPECT_EQ(Find(views, "a").stale, (PartitionsByTopic{{"events", {0}}}));
  EXPECT_EQ(Find(views, "b").owned, (PartitionsByTopic{{"events", {0}}}));
}

TEST(InstanceReader, OverlappingClaimsOfThreeGenerationsNeverShowAPartitionTwice) {
  const auto views =
      ResolveInstances({Record("c", 0, 100, {2, 3, 4}, 5), Record("a", 1, 100, {0, 1, 2}, 3),
                        Record("b", 2, 100, {1, 2, 3}, 4)},
                       kNow);
  std::map<int32_t, std::string> owner;
  for (const InstanceView& view : views) {
    auto owned = view.owned.find("events");
    if (owned == view.owned.end()) continue;
    for (int32_t partition : owned->second) {
      EXPECT_TRUE(owner.emplace(partition, view.status.instance).second)
          << "partition " << partition << " owned twice";
    }
  }
  EXPECT_EQ(owner,
            (std::map<int32_t, std::string>{{0, "a"}, {1, "b"}, {2, "c"}, {3, "c"}, {4, "c"}}));
  EXPECT_EQ(Find(views, "a").stale, (PartitionsByTopic{{"events", {1, 2}}}));
  EXPECT_EQ(Find(views, "b").stale, (PartitionsByTopic{{"events", {2, 3}}}));
}

TEST(InstanceStatusJson, RoundTripsAndRefusesWhatIsNotAStatus) {
  InstanceStatus status;
  status.instance = "eddy-clicks-0";
  status.host = "node \"1\"";
  status.state = "running";
  status.generation = 7;
  status.assigned_unix_ms = kNow - 10;
  status.partitions = {{"clicks", {0, 3}}, {"clicks.per_page.repartition", {1}}};
  status.batches = 42;
  status.lag = 17;
  status.restores = 2;
  status.restore_seconds = 0.25;
  status.restored_bytes = 4096;
  status.api_address = "eddy-clicks-0:8089";
  status.metrics_address = "eddy-clicks-0:9464";
  status.session_timeout_ms = kSession;
  status.written_unix_ms = kNow;
  auto parsed = ParseInstanceStatus(InstanceStatusToJson(status));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(InstanceStatusToJson(*parsed), InstanceStatusToJson(status));
  EXPECT_EQ(parsed->partitions, status.partitions);
  EXPECT_EQ(parsed->host, status.host);

  EXPECT_FALSE(ParseInstanceStatus("not json").ok());
  EXPECT_FALSE(ParseInstanceStatus("{\"state\":\"running\"}").ok());  // no instance
  auto bad = ParseInstanceStatus(
      "{\"instance\":\"a\",\"state\":\"running\",\"partitions\":{\"t\":[\"x\"]}}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("partition of 't'"), std::string::npos)
      << bad.status().message();
}

TEST(InstanceStatusJson, DescribePartitionsForTheTable) {
  EXPECT_EQ(DescribePartitions({}), "-");
  EXPECT_EQ(DescribePartitions({{"clicks", {0, 1, 2}}, {"clicks.per_page.repartition", {3}}}),
            "clicks:0,1,2 clicks.per_page.repartition:3");
}

}  // namespace
}  // namespace eddy
