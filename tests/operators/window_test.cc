// Windows, keyed aggregations and lookup joins end to end: events produced
// to a 3-partition topic on a broker over TCP (partition 2 stays idle), a
// job run in --once mode with at most two records per partition per batch
// (so the watermark advances batch by batch), and its file outputs compared
// exactly with results worked out by hand in the comments.

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using testing::TestRecord;

struct Event {
  int32_t partition;
  std::string key;
  int seconds;  // event time
};

std::string EventJson(const Event& event) {
  return R"({"key":")" + event.key + R"(","t":)" + std::to_string(event.seconds * 1000) +
         R"(,"v":)" + std::to_string(event.seconds) + "}";
}

std::string Time(int seconds) { return FormatTimestamp(static_cast<int64_t>(seconds) * 1000000); }

// One window result as the JSON file sink writes it.
std::string Window(const std::string& key, int start, int end, int count, int total) {
  return R"({"key":")" + key + R"(","window_start":")" + Time(start) + R"(","window_end":")" +
         Time(end) + R"(","n":)" + std::to_string(count) + R"(,"total":)" + std::to_string(total) +
         "}\n";
}

// A late row as it arrived.
std::string Row(const std::string& key, int seconds) {
  return R"({"key":")" + key + R"(","t":")" + Time(seconds) + R"(","v":)" +
         std::to_string(seconds) + "}\n";
}

class WindowJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
    ASSERT_TRUE(broker_->CreateTopic("table", 1).ok());
    dir_ = testing::MakeTempDir("eddy-window");
  }

  void Produce(const std::vector<Event>& events, const std::string& topic = "events") {
    std::vector<TestRecord> records;
    for (const Event& event : events)
      records.push_back({event.partition, std::nullopt, EventJson(event)});
    testing::ProduceRecords(broker_->bootstrap(), topic, records);
  }

  // The job: events -> OPERATORS -> out.jsonl (and late.jsonl when the
  // operator has a late output).
  std::string Job(const std::string& operators, bool late_sink) {
    std::string yaml =
        "name: windows\n"
        "kafka: { brokers: \"" +
        broker_->bootstrap() +
        "\" }\n"
        "sources:\n"
        "  - name: events\n"
        "    kafka: { topics: [events] }\n"
        "    format: json\n"
        "    schema:\n"
        "      - { name: key, type: string }\n"
        "      - { name: t, type: timestamp }\n"
        "      - { name: v, type: int64 }\n"
        "    event_time: { column: t, idle_timeout: 1ms }\n"
        "operators:\n" +
        operators +
        "sinks:\n"
        "  - name: out\n"
        "    input: counts\n"
        "    file: { path: out.jsonl }\n"
        "    format: json\n";
    if (late_sink) {
      yaml +=
          "  - name: late\n"
          "    input: counts.late\n"
          "    file: { path: late.jsonl }\n"
          "    format: json\n";
    }
    yaml +=
        "trigger: { interval: 1ms, max_records_per_partition: 2 }\n"
        "state: { dir: state }\n";
    return yaml;
  }

  Result<std::unique_ptr<JobPlan>> Plan(const std::string& yaml) {
    testing::WriteFile(dir_ + "/job.yaml", yaml);
    EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadJobFile(dir_ + "/job.yaml"));
    ConnectorContext context;
    context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
      return Result<std::string>(brokers);
    };
    return PlanJob(std::move(job), context);
  }

  Result<RunSummary> Run(const std::string& yaml, int64_t max_batches = 0,
                         const std::string& from_checkpoint = "", bool drain = false) {
    auto plan = Plan(yaml);
    if (!plan.ok()) return plan.status();
    ExecutorOptions options;
    options.once = true;
    options.drain_windows = drain;
    options.max_batches = max_batches;
    options.threads = 3;
    options.from_checkpoint = from_checkpoint;
    options.on_batch = [this](const BatchReport& report) {
      late_by_batch_.push_back(report.late_by_operator);
    };
    return RunJob(**plan, options);
  }

  std::string Output(const std::string& name) { return testing::ReadFile(dir_ + "/" + name); }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
  // Each batch's BatchReport::late_by_operator, in batch order.
  std::vector<std::vector<std::pair<std::string, int64_t>>> late_by_batch_;
};

// Partition 0 and 1 carry data, partition 2 is idle (left out of the
// watermark after 1 ms). Batches of at most 2 records per partition:
//   batch 1: p0 a@1 a@5   p1 b@2 b@11   -> watermark min(5, 11) = 5
//   batch 2: p0 a@21 a@22 p1 a@3 b@14   -> watermark 14 (a@3 is out of order, not late)
//   batch 3: p0 a@40 a@42 p1 b@12 b@41  -> b@12 is behind the watermark 14 but within
//                                          the 5 s lateness of [10,20); watermark 41
//   batch 4: p0 a@8                     -> [0,10) closed at 10 + 5 <= 41: late
const std::vector<Event> kTumblingEvents = {
    {0, "a", 1}, {0, "a", 5},  {0, "a", 21}, {0, "a", 22}, {0, "a", 40}, {0, "a", 42}, {0, "a", 8},
    {1, "b", 2}, {1, "b", 11}, {1, "a", 3},  {1, "b", 14}, {1, "b", 12}, {1, "b", 41}};

const char* kTumbling =
    "  - name: counts\n"
    "    window:\n"
    "      key: [key]\n"
    "      type: tumbling\n"
    "      size: 10s\n"
    "      allowed_lateness: 5s\n"
    "      output_mode: MODE\n"
    "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n";

std::string WithMode(std::string text, const std::string& mode) {
  text.replace(text.find("MODE"), 4, mode);
  return text;
}

TEST_F(WindowJobTest, TumblingAppendEmitsEachWindowOnceWhenTheWatermarkPassesItsEndPlusLateness) {
  Produce(kTumblingEvents);
  auto summary = Run(Job(WithMode(kTumbling, "append"), true));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 4);
  // After batch 3 (watermark 41) every window ending at or before 36 fires,
  // ordered by end, start, key; [40,50) windows stay open.
  EXPECT_EQ(Output("out.jsonl"), Window("a", 0, 10, 3, 9) + Window("b", 0, 10, 1, 2) +
                                     Window("b", 10, 20, 3, 37) + Window("a", 20, 30, 2, 43));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
  // The batch report counts the late row against its operator, in batch 4.
  const std::vector<std::pair<std::string, int64_t>> none = {{"counts", 0}};
  const std::vector<std::pair<std::string, int64_t>> one = {{"counts", 1}};
  EXPECT_EQ(late_by_batch_,
            (std::vector<std::vector<std::pair<std::string, int64_t>>>{none, none, none, one}));
}

// --drain (Flink's stop --drain): the run ends with one batch under the
// final watermark that fires the [40,50) windows still open; late rows are
// as before. Run again with nothing new, it fires nothing twice.
TEST_F(WindowJobTest, DrainFiresTheWindowsStillOpenOnceAtTheEndOfTheRun) {
  Produce(kTumblingEvents);
  auto summary = Run(Job(WithMode(kTumbling, "append"), true), 0, "", /*drain=*/true);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 5);
  const std::string all = Window("a", 0, 10, 3, 9) + Window("b", 0, 10, 1, 2) +
                          Window("b", 10, 20, 3, 37) + Window("a", 20, 30, 2, 43) +
                          Window("a", 40, 50, 2, 82) + Window("b", 40, 50, 1, 41);
  EXPECT_EQ(Output("out.jsonl"), all);
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
  summary = Run(Job(WithMode(kTumbling, "append"), true), 0, "", /*drain=*/true);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 0);
  EXPECT_EQ(Output("out.jsonl"), all);
  // The stream goes on from the watermark it had (41), not the end of
  // time: a@45 opens [40,50) again rather than being late.
  Produce({{0, "a", 45}});
  summary = Run(Job(WithMode(kTumbling, "append"), true), 0, "", /*drain=*/true);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 2);
  EXPECT_EQ(Output("out.jsonl"), all + Window("a", 40, 50, 1, 45));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
}

TEST_F(WindowJobTest, TumblingUpdateEmitsChangedWindowsEveryBatch) {
  Produce(kTumblingEvents);
  auto summary = Run(Job(WithMode(kTumbling, "update"), true));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Output("out.jsonl"),
            // batch 1
            Window("a", 0, 10, 2, 6) + Window("b", 0, 10, 1, 2) + Window("b", 10, 20, 1, 11) +
                // batch 2
                Window("a", 20, 30, 2, 43) + Window("a", 0, 10, 3, 9) + Window("b", 10, 20, 2, 25) +
                // batch 3
                Window("a", 40, 50, 2, 82) + Window("b", 10, 20, 3, 37) +
                Window("b", 40, 50, 1, 41));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
}

// One key on partition 0; partitions 1 and 2 idle.
//   batch 1: a@1 a@7   -> windows [-5,5) [0,10) / [0,10) [5,15); watermark 7: [-5,5) fires
//   batch 2: a@12 a@30 -> [5,15) [10,20) / [25,35) [30,40); watermark 30: [0,10) [5,15) [10,20)
//   fire
TEST_F(WindowJobTest, SlidingWindowsCountEveryWindowARowFallsIn) {
  Produce({{0, "a", 1}, {0, "a", 7}, {0, "a", 12}, {0, "a", 30}});
  auto summary =
      Run(Job("  - name: counts\n"
              "    window:\n"
              "      key: [key]\n"
              "      type: sliding\n"
              "      size: 10s\n"
              "      slide: 5s\n"
              "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n",
              false));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Output("out.jsonl"), Window("a", -5, 5, 1, 1) + Window("a", 0, 10, 2, 8) +
                                     Window("a", 5, 15, 2, 19) + Window("a", 10, 20, 1, 12));
}

// Gap 5 s on partition 0:
//   batch 1: a@1 a@4   -> a[1,9)                      watermark 4
//   batch 2: b@2 a@20  -> b[2,7), a[20,25)            watermark 20: b[2,7) and a[1,9) fire
//   batch 3: a@7 a@22  -> a@7 late (7 + 5 <= 20); a@22 merges into a[20,27)   watermark 22
//   batch 4: a@40      -> watermark 40: a[20,27) fires
TEST_F(WindowJobTest, SessionWindowsMergeAcrossBatchesAndCloseAfterTheGap) {
  Produce({{0, "a", 1},
           {0, "a", 4},
           {0, "b", 2},
           {0, "a", 20},
           {0, "a", 7},
           {0, "a", 22},
           {0, "a", 40}});
  auto summary =
      Run(Job("  - name: counts\n"
              "    window:\n"
              "      key: [key]\n"
              "      type: session\n"
              "      gap: 5s\n"
              "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n",
              true));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Output("out.jsonl"),
            Window("b", 2, 7, 1, 2) + Window("a", 1, 9, 2, 5) + Window("a", 20, 27, 2, 42));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 7));
}

// Bounded input ends event time by itself (no --drain): a file source,
// once exhausted, fires the last session a[40,45) and the tumbling window
// [40,50) that a@40 falls in, as Flink's final watermark does.
TEST_F(WindowJobTest, ABoundedSourceFiresEveryWindowWhenItIsExhausted) {
  std::string lines;
  for (const Event& event : std::vector<Event>{{0, "a", 1},
                                               {0, "a", 4},
                                               {0, "b", 2},
                                               {0, "a", 20},
                                               {0, "a", 7},
                                               {0, "a", 22},
                                               {0, "a", 40}}) {
    lines += EventJson(event) + "\n";
  }
  testing::WriteFile(dir_ + "/events.jsonl", lines);
  const std::string aggregates = R"(aggregates: ["count(*) AS n", "sum(v) AS total"])";
  auto plan = Plan(
      "name: bounded\n"
      "sources:\n"
      "  - name: events\n"
      "    file: events.jsonl\n"
      "    format: json\n"
      "    schema: [{name: key, type: string}, {name: t, type: timestamp}, "
      "{name: v, type: int64}]\n"
      "    event_time: { column: t }\n"
      "operators:\n"
      "  - name: sessions\n"
      "    window: { key: [key], type: session, gap: 5s, " +
      aggregates +
      " }\n"
      "  - name: tumbling\n"
      "    inputs: [events]\n"
      "    window: { key: [key], type: tumbling, size: 10s, " +
      aggregates +
      " }\n"
      "sinks:\n"
      "  - { name: out, input: sessions, file: { path: out.jsonl }, format: json }\n"
      "  - { name: late, input: sessions.late, file: { path: late.jsonl }, format: json }\n"
      "  - { name: tumbling-out, input: tumbling, file: { path: tumbling.jsonl }, format: json }\n"
      "trigger: { interval: 1ms, max_records_per_partition: 2 }\n"
      "state: { dir: state }\n");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExecutorOptions options;  // neither once nor drain: the source ends the run
  options.threads = 2;
  auto summary = RunJob(**plan, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 5);  // 2 + 2 + 2 + 1 rows, then the end of input
  EXPECT_EQ(Output("out.jsonl"), Window("b", 2, 7, 1, 2) + Window("a", 1, 9, 2, 5) +
                                     Window("a", 20, 27, 2, 42) + Window("a", 40, 45, 1, 40));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 7));
  const std::string tumbling = Output("tumbling.jsonl");
  EXPECT_EQ(tumbling.rfind(Window("a", 40, 50, 1, 40)),
            tumbling.size() - Window("a", 40, 50, 1, 40).size())
      << tumbling;
}

// The sliding stream above in update mode: every batch writes the windows it
// changed, in the order the batch first touched them.
TEST_F(WindowJobTest, SlidingUpdateEmitsEveryWindowABatchChanged) {
  Produce({{0, "a", 1}, {0, "a", 7}, {0, "a", 12}, {0, "a", 30}});
  auto summary =
      Run(Job("  - name: counts\n"
              "    window:\n"
              "      key: [key]\n"
              "      type: sliding\n"
              "      size: 10s\n"
              "      slide: 5s\n"
              "      output_mode: update\n"
              "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n",
              false));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Output("out.jsonl"),
            // batch 1: a@1 -> [0,10) [-5,5); a@7 -> [5,15) [0,10)
            Window("a", 0, 10, 2, 8) + Window("a", -5, 5, 1, 1) + Window("a", 5, 15, 1, 7) +
                // batch 2: a@12 -> [10,20) [5,15); a@30 -> [30,40) [25,35)
                Window("a", 10, 20, 1, 12) + Window("a", 5, 15, 2, 19) +
                Window("a", 30, 40, 1, 30) + Window("a", 25, 35, 1, 30));
}

// The session stream above in update mode.
TEST_F(WindowJobTest, SessionUpdateEmitsSessionsAsTheyGrowAndMerge) {
  Produce({{0, "a", 1},
           {0, "a", 4},
           {0, "b", 2},
           {0, "a", 20},
           {0, "a", 7},
           {0, "a", 22},
           {0, "a", 40}});
  auto summary =
      Run(Job("  - name: counts\n"
              "    window:\n"
              "      key: [key]\n"
              "      type: session\n"
              "      gap: 5s\n"
              "      output_mode: update\n"
              "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n",
              true));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Output("out.jsonl"), Window("a", 1, 9, 2, 5) +  // batch 1
                                     Window("b", 2, 7, 1, 2) +
                                     Window("a", 20, 25, 1, 20) +  // batch 2
                                     Window("a", 20, 27, 2, 42) +  // batch 3: a@22 merges
                                     Window("a", 40, 45, 1, 40));  // batch 4
  EXPECT_EQ(Output("late.jsonl"), Row("a", 7));
}

TEST_F(WindowJobTest, KeyedAggregateEmitsRunningTotalsOfTheKeysEachBatchChanged) {
  Produce({{0, "a", 1}, {0, "a", 2}, {1, "b", 5}, {0, "a", 3}, {1, "b", 6}, {1, "c", 7}});
  auto summary =
      Run(Job("  - name: counts\n"
              "    aggregate:\n"
              "      key: [key]\n"
              "      aggregates: [\"count(*) AS n\", \"sum(v) AS total\"]\n",
              false));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  // batch 1: p0 a@1 a@2, p1 b@5 b@6; batch 2: p0 a@3, p1 c@7.
  EXPECT_EQ(Output("out.jsonl"),
            "{\"key\":\"a\",\"n\":2,\"total\":3}\n{\"key\":\"b\",\"n\":2,\"total\":11}\n"
            "{\"key\":\"a\",\"n\":3,\"total\":6}\n{\"key\":\"c\",\"n\":1,\"total\":7}\n");
}

TEST_F(WindowJobTest, StateAndOffsetsSurviveARestart) {
  Produce(kTumblingEvents);
  const std::string job = Job(WithMode(kTumbling, "append"), true);
  // Two batches, stop, then the rest: the same output as one run.
  auto first = Run(job, 2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->batches, 2);
  EXPECT_EQ(Output("out.jsonl"), "");
  auto second = Run(job);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->batches, 2);
  EXPECT_EQ(Output("out.jsonl"), Window("a", 0, 10, 3, 9) + Window("b", 0, 10, 1, 2) +
                                     Window("b", 10, 20, 3, 37) + Window("a", 20, 30, 2, 43));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
  // A clean stop leaves a checkpoint of the last batch.
  std::vector<std::string> checkpoints;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/state/checkpoints")) {
    checkpoints.push_back(entry.path().filename().string());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  EXPECT_EQ(checkpoints, (std::vector<std::string>{"chk-000000000002", "chk-000000000004"}));
}

TEST_F(WindowJobTest, RunningFromAnEarlierCheckpointReplaysTheBatchesAfterIt) {
  Produce(kTumblingEvents);
  const std::string job =
      Job(WithMode(kTumbling, "append"), true) + "checkpoint: { every_batches: 1, keep: 3 }\n";
  ASSERT_TRUE(Run(job).ok());
  std::vector<std::string> checkpoints;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/state/checkpoints")) {
    checkpoints.push_back(entry.path().filename().string());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  ASSERT_EQ(checkpoints,
            (std::vector<std::string>{"chk-000000000002", "chk-000000000003", "chk-000000000004"}));
  // From the state after batch 2, batches 3 and 4 run again over the same
  // offsets and give the same results.
  std::filesystem::remove(dir_ + "/out.jsonl");
  std::filesystem::remove(dir_ + "/late.jsonl");
  auto replay = Run(job, 0, dir_ + "/state/checkpoints/chk-000000000002");
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ(replay->batches, 2);
  EXPECT_EQ(Output("out.jsonl"), Window("a", 0, 10, 3, 9) + Window("b", 0, 10, 1, 2) +
                                     Window("b", 10, 20, 3, 37) + Window("a", 20, 30, 2, 43));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
}

// The live database is lost and the newest checkpoints are damaged: chk-4's
// manifest is half-written (cut short), chk-3's RocksDB names a manifest
// that is not there, and a staging directory was left by a crash. The job
// skips all three, says so, and resumes from chk-2: batches 3 and 4 run
// again and give the results of the uninterrupted run.
TEST_F(WindowJobTest, DamagedNewestCheckpointsFallBackToTheLastCompleteOne) {
  Produce(kTumblingEvents);
  const std::string job =
      Job(WithMode(kTumbling, "append"), true) + "checkpoint: { every_batches: 1, keep: 3 }\n";
  ASSERT_TRUE(Run(job).ok());
  const std::string checkpoints = dir_ + "/state/checkpoints";
  ASSERT_TRUE(std::filesystem::exists(checkpoints + "/chk-000000000004/MANIFEST"));
  std::filesystem::remove_all(dir_ + "/state/db");
  const std::string manifest = testing::ReadFile(checkpoints + "/chk-000000000004/MANIFEST");
  testing::WriteFile(checkpoints + "/chk-000000000004/MANIFEST",
                     manifest.substr(0, manifest.size() / 2));
  testing::WriteFile(checkpoints + "/chk-000000000003/rocksdb/CURRENT", "MANIFEST-999999\n");
  std::filesystem::create_directories(checkpoints + "/.tmp-chk-000000000005/rocksdb");
  std::filesystem::remove(dir_ + "/out.jsonl");
  std::filesystem::remove(dir_ + "/late.jsonl");

  auto log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  spdlog::default_logger()->sinks().push_back(log);
  auto resumed = Run(job);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();

  std::string lines;
  for (const std::string& line : log->last_formatted()) lines += line;
  EXPECT_NE(lines.find("ignoring incomplete checkpoint " + checkpoints + "/chk-000000000004"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("ignoring incomplete checkpoint " + checkpoints + "/.tmp-chk-000000000005"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("checkpoint " + checkpoints + "/chk-000000000003 is unusable"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("falling back to " + checkpoints + "/chk-000000000002"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("resuming after batch 2"), std::string::npos) << lines;
  EXPECT_EQ(resumed->batches, 2);
  EXPECT_EQ(Output("out.jsonl"), Window("a", 0, 10, 3, 9) + Window("b", 0, 10, 1, 2) +
                                     Window("b", 10, 20, 3, 37) + Window("a", 20, 30, 2, 43));
  EXPECT_EQ(Output("late.jsonl"), Row("a", 8));
}

// The job spec goes into every progress record and checkpoint manifest,
// with its secrets redacted: a password set for the Kafka clients is in no
// file the job writes.
TEST_F(WindowJobTest, StateAndCheckpointsNeverHoldASecret) {
  Produce(kTumblingEvents);
  std::string job = Job(WithMode(kTumbling, "append"), true) + "checkpoint: { every_batches: 1 }\n";
  const std::string brokers = "kafka: { brokers: \"" + broker_->bootstrap() + "\" }";
  job.replace(job.find(brokers), brokers.size(),
              "kafka: { brokers: \"" + broker_->bootstrap() +
                  "\", properties: { ssl.key.password: hunter2-not-in-files } }");
  ASSERT_TRUE(Run(job).ok());
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ + "/state")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(testing::ReadFile(entry.path().string()).find("hunter2-not-in-files"),
              std::string::npos)
        << entry.path();
  }
  EXPECT_GT(files, 10u);
}

TEST_F(WindowJobTest, AChangedWindowDefinitionIsRefusedNamingTheOperator) {
  Produce(kTumblingEvents);
  ASSERT_TRUE(Run(Job(WithMode(kTumbling, "append"), true), 1).ok());
  std::string changed = WithMode(kTumbling, "append");
  changed.replace(changed.find("size: 10s"), 9, "size: 20s");
  auto refused = Run(Job(changed, true));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("operator 'counts' changed"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("size=20s"), std::string::npos)
      << refused.status().message();
}

// The job's events joined to a table topic ("labels": id, label, note) as
// node `join`, without event time on the table, then OPERATORS.
std::string WithLabels(std::string yaml, const std::string& join_type, bool label_nullable,
                       const std::string& operators) {
  yaml.replace(yaml.find("operators:\n"), 11,
               "  - name: labels\n"
               "    kafka: { topics: [table] }\n"
               "    format: json\n"
               "    schema:\n"
               "      - { name: id, type: string }\n"
               "      - { name: label, type: string, nullable: " +
                   std::string(label_nullable ? "true" : "false") +
                   " }\n"
                   "      - { name: note, type: string, nullable: true }\n"
                   "operators:\n"
                   "  - name: join\n"
                   "    inputs: [events, labels]\n"
                   "    lookup_join: { key: key, table_key: id, join_type: " +
                   join_type + " }\n" + operators);
  return yaml;
}

// An inner join emits matched rows only: its columns are as nullable as the
// table's (a left join's are all nullable). It keeps the stream's event time
// and the table, which has none, does not hold the watermark back: windows
// over the joined rows fire as they do over the events themselves.
TEST_F(WindowJobTest, AnInnerLookupJoinKeepsTheTablesNullabilityAndTheStreamsWatermark) {
  const std::string by_label =
      "  - name: counts\n"
      "    inputs: [join]\n"
      "    window: { key: [label], type: tumbling, size: 10s, allowed_lateness: 5s,\n"
      "              aggregates: [\"count(*) AS n\", \"sum(v) AS total\"] }\n";
  const std::string inner = WithLabels(Job("", false), "inner", false, by_label);
  auto plan = Plan(inner);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ((*plan)->nodes[2].dag.name, "join");
  EXPECT_EQ((*plan)->nodes[2].schema.ToString(),
            "key:string, t:timestamp, v:int64, label:string, note:string?");
  auto left = Plan(WithLabels(Job("", false), "left", false, by_label));
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ((*left)->nodes[2].schema.ToString(),
            "key:string, t:timestamp, v:int64, label:string?, note:string?");

  testing::ProduceRecords(broker_->bootstrap(), "table",
                          {{0, std::nullopt, R"({"id":"a","label":"A","note":null})"},
                           {0, std::nullopt, R"({"id":"b","label":"B","note":"bee"})"}});
  Produce(kTumblingEvents);
  auto summary = Run(inner);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->batches, 4);
  // As TumblingAppendEmits... above, keyed by the joined label.
  auto labelled = [](std::string window) {
    window.replace(window.find("\"key\":\""), 7, "\"label\":\"");
    window[10] = static_cast<char>(std::toupper(window[10]));
    return window;
  };
  EXPECT_EQ(Output("out.jsonl"),
            labelled(Window("a", 0, 10, 3, 9)) + labelled(Window("b", 0, 10, 1, 2)) +
                labelled(Window("b", 10, 20, 3, 37)) + labelled(Window("a", 20, 30, 2, 43)));
}

// A table row stored while `label` was nullable may hold a NULL there; once
// the table's schema says non-null, the inner join does not emit it in a
// non-null column: the stream row is a dead letter that says why.
TEST_F(WindowJobTest, AnInnerLookupJoinDeadLettersAStoredNullItsSchemaNoLongerAllows) {
  testing::ProduceRecords(broker_->bootstrap(), "table",
                          {{0, std::nullopt, R"({"id":"a","label":null,"note":"x"})"}});
  Produce({{0, "a", 1}});
  const std::string rename = "  - name: counts\n    inputs: [join]\n    select: ['*']\n";
  auto first = Run(WithLabels(Job("", false), "inner", true, rename));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string row1 =
      "{\"key\":\"a\",\"t\":\"" + Time(1) + "\",\"v\":1,\"label\":null,\"note\":\"x\"}\n";
  EXPECT_EQ(Output("out.jsonl"), row1);

  Produce({{0, "a", 2}});
  auto second = Run(WithLabels(Job("", false), "inner", false, rename));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->records_in, 1);
  EXPECT_EQ(second->dead_letters, 1);
  EXPECT_EQ(Output("out.jsonl"), row1);
  const std::string dead = Output("state/dead-letter.jsonl");
  EXPECT_NE(dead.find("the table row for this key has NULL in 'label', which the table's schema "
                      "does not allow (the row was stored before the column became "
                      "non-nullable)"),
            std::string::npos)
      << dead;
}

TEST_F(WindowJobTest, LookupJoinEnrichesFromATableTopicKeptCurrent) {
  // The table arrives on its own topic; a later row for a key replaces the
  // first, and a row with only NULLs deletes the key.
  testing::ProduceRecords(broker_->bootstrap(), "table",
                          {{0, std::nullopt, R"({"id":"a","label":"alpha"})"},
                           {0, std::nullopt, R"({"id":"b","label":"beta"})"},
                           {0, std::nullopt, R"({"id":"a","label":"ALPHA"})"},
                           {0, std::nullopt, R"({"id":"b","label":null})"}});
  Produce({{0, "a", 1}, {1, "b", 2}, {0, "c", 3}});
  std::string yaml =
      Job("  - name: counts\n"
          "    inputs: [events, labels]\n"
          "    lookup_join: { key: key, table_key: id, join_type: left }\n",
          false);
  yaml.replace(yaml.find("operators:\n"), 11,
               "  - name: labels\n"
               "    kafka: { topics: [table] }\n"
               "    format: json\n"
               "    schema:\n"
               "      - { name: id, type: string }\n"
               "      - { name: label, type: string, nullable: true }\n"
               "operators:\n");
  yaml.replace(yaml.find("max_records_per_partition: 2"), 28, "max_records_per_partition: 100");
  auto summary = Run(yaml);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  // One batch: the table's four rows apply first (a -> ALPHA, b deleted).
  EXPECT_EQ(Output("out.jsonl"), "{\"key\":\"a\",\"t\":\"" + Time(1) +
                                     "\",\"v\":1,\"label\":\"ALPHA\"}\n"
                                     "{\"key\":\"c\",\"t\":\"" +
                                     Time(3) +
                                     "\",\"v\":3,\"label\":null}\n"
                                     "{\"key\":\"b\",\"t\":\"" +
                                     Time(2) + "\",\"v\":2,\"label\":null}\n");
}

}  // namespace
}  // namespace eddy
