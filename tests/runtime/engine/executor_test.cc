// The executor in one process, without a broker: parallel tasks, in-task
// and batch-wide stages, sinks written in task order. Also the test that
// runs under ThreadSanitizer in CI (deploy/sanitize.sh).

#include "runtime/engine/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace eddy {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A generator of 8,000 YSB events over 8 partitions, a filter and a
// select in each task, a keyed running count in the batch-wide stage, and
// a file sink on each side.
std::string JobText(const fs::path& dir) {
  return "name: executor-test\n"
         "sources:\n"
         "  - name: events\n"
         "    generator: { kind: ysb, count: 8000, partitions: 8, seed: 7 }\n"
         "operators:\n"
         "  - name: views\n"
         "    filter: event_type = 'view'\n"
         "  - name: shaped\n"
         "    select: [ad_id, upper(ad_type) AS ad_type]\n"
         "  - name: per_type\n"
         "    inputs: [shaped]\n"
         "    aggregate: { key: [ad_type], aggregates: ['count(*) AS views'] }\n"
         "sinks:\n"
         "  - name: rows\n"
         "    input: shaped\n"
         "    file: { path: " +
         (dir / "rows.jsonl").string() +
         " }\n"
         "    format: json\n"
         "  - name: counts\n"
         "    input: per_type\n"
         "    file: { path: " +
         (dir / "counts.jsonl").string() +
         " }\n"
         "    format: json\n"
         "state: { dir: " +
         (dir / "state").string() +
         " }\n"
         "trigger: { max_records_per_partition: 250 }\n";
}

Result<RunSummary> RunInDir(const fs::path& dir, size_t threads) {
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadJobText(JobText(dir), (dir / "job.yaml").string()));
  EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(std::move(job), ConnectorContext()));
  ExecutorOptions options;
  options.threads = threads;
  return RunJob(*plan, options);
}

TEST(Executor, ParallelTasksGiveTheSameOutputAsOneThread) {
  const fs::path root = fs::path(::testing::TempDir()) / "executor_test";
  fs::remove_all(root);
  const fs::path one = root / "one", four = root / "four";
  fs::create_directories(one);
  fs::create_directories(four);

  auto serial = RunInDir(one, 1);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  auto parallel = RunInDir(four, 4);
  ASSERT_TRUE(parallel.ok()) << parallel.status().ToString();

  // 8 partitions of 1,000 records in batches of 250 per partition.
  EXPECT_EQ(serial->records_in, 8000);
  EXPECT_EQ(serial->batches, 4);
  EXPECT_EQ(parallel->records_in, 8000);
  EXPECT_EQ(parallel->records_out, serial->records_out);
  const std::string rows = ReadAll(one / "rows.jsonl");
  EXPECT_GT(rows.size(), 0u);
  EXPECT_EQ(ReadAll(four / "rows.jsonl"), rows);
  EXPECT_EQ(ReadAll(four / "counts.jsonl"), ReadAll(one / "counts.jsonl"));
}

// An exactly-once sink over a shared destination: Recover drops, on the
// rewrite, what an earlier run delivered after the recorded position, as a
// Kafka sink does from the partitions' tails. The first Flush can be made to
// fail after the rows landed (a crash between delivery and commit).
class ReplaySkippingSink : public Sink {
 public:
  ReplaySkippingSink(std::vector<std::string>* landed, bool fail_first_flush)
      : landed_(landed), fail_flush_(fail_first_flush) {}
  const std::string& name() const override { return name_; }
  Status Open() override { return Status::OK(); }
  bool exactly_once() const override { return true; }
  Status Recover(const SinkRecovery& recovery) override {
    const size_t position = recovery.position.empty() ? 0 : std::stoul(recovery.position);
    skip_ = landed_->size() - position;
    delivered_ = position;
    return Status::OK();
  }
  std::string Position() const override { return std::to_string(delivered_); }
  Status Write(const Batch& batch, const WriteContext&, DeadLetters*) override {
    for (size_t row = 0; row < batch.num_rows(); ++row, ++delivered_) {
      if (skip_ > 0) {
        --skip_;
        continue;
      }
      landed_->push_back(batch.RowToString(row));
      ++written_;
    }
    return Status::OK();
  }
  Status Flush() override {
    if (!fail_flush_) return Status::OK();
    fail_flush_ = false;
    return Status::IOError("injected: the process dies before the commit");
  }
  int64_t records_written() const override { return written_; }

 private:
  const std::string name_ = "out";
  std::vector<std::string>* landed_;
  bool fail_flush_;
  size_t skip_ = 0;
  size_t delivered_ = 0;  // rows of the job's output, delivered or skipped
  int64_t written_ = 0;
};

// A batch that runs again after its rows landed (the first run died before
// committing) writes nothing new: its out= is 0, not the rows the sink
// skipped; the next batch counts its own.
TEST(Executor, AReplayedBatchCountsOnlyTheRowsItsSinksWrote) {
  const fs::path dir = fs::path(::testing::TempDir()) / "executor_test_replay_out";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string yaml =
      "name: replay\n"
      "sources:\n"
      "  - name: numbers\n"
      "    generator: { kind: regression, count: 20, seed: 1 }\n"
      "sinks:\n"
      "  - name: out\n"
      "    stdout:\n"
      "state: { dir: " +
      (dir / "state").string() +
      " }\n"
      "trigger: { interval: 1ms, max_records_per_partition: 10 }\n";
  std::vector<std::string> landed;
  auto run = [&](bool fail_first_flush, std::vector<int64_t>* outs) -> Status {
    EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadJobText(yaml, (dir / "job.yaml").string()));
    EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(std::move(job), ConnectorContext()));
    plan->sinks[0] = std::make_unique<ReplaySkippingSink>(&landed, fail_first_flush);
    ExecutorOptions options;
    options.once = true;
    options.on_batch = [outs](const BatchReport& report) { outs->push_back(report.records_out); };
    return RunJob(*plan, options).status();
  };
  std::vector<int64_t> first, second;
  EXPECT_EQ(run(true, &first).ToString(), "IO error: injected: the process dies before the commit");
  EXPECT_TRUE(first.empty());
  ASSERT_EQ(landed.size(), 10u);
  const Status rerun = run(false, &second);
  ASSERT_TRUE(rerun.ok()) << rerun.ToString();
  EXPECT_EQ(second, (std::vector<int64_t>{0, 10}));
  EXPECT_EQ(landed.size(), 20u);
}

// A job that dies every two batches (cancelled: no final checkpoint, as
// after a crash) with checkpoint.every_batches 5: counted per process it
// would never checkpoint; counted from the last checkpoint's batch it does
// after batches 5 and 10, and the offsets log stays trimmed. A staging
// directory an interrupted checkpoint left goes at the first start.
TEST(Executor, AJobRestartedEveryTwoBatchesStillCheckpointsEveryFive) {
  const fs::path dir = fs::path(::testing::TempDir()) / "executor_test_crash_loop";
  fs::remove_all(dir);
  const fs::path leftover = dir / "state" / "checkpoints" / ".tmp-chk-000000000003";
  fs::create_directories(leftover / "rocksdb");
  std::ofstream(leftover / "rocksdb" / "000007.sst") << "half a checkpoint";
  const std::string yaml =
      "name: crash-loop\n"
      "sources:\n"
      "  - name: numbers\n"
      "    generator: { kind: regression, count: 10000, seed: 1 }\n"
      "sinks:\n"
      "  - name: out\n"
      "    file: { path: " +
      (dir / "out.jsonl").string() +
      " }\n"
      "    format: json\n"
      "state: { dir: " +
      (dir / "state").string() +
      " }\n"
      "trigger: { interval: 1ms, max_records_per_partition: 10 }\n"
      "checkpoint: { every_batches: 5, keep: 10 }\n";
  auto checkpoints = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir / "state" / "checkpoints")) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  for (int life = 1; life <= 5; ++life) {
    auto job = LoadJobText(yaml, (dir / "job.yaml").string());
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    auto plan = PlanJob(std::move(job).value(), ConnectorContext());
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    std::atomic<bool> dead{false};
    int batches = 0;
    ExecutorOptions options;
    options.stop = &dead;
    options.cancel = &dead;
    options.on_batch = [&](const BatchReport&) {
      if (++batches == 2) dead = true;
    };
    auto summary = RunJob(**plan, options);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    ASSERT_EQ(summary->batches, 2);
    if (life == 1) {
      EXPECT_FALSE(fs::exists(leftover));
      EXPECT_EQ(checkpoints(), std::vector<std::string>{});
    }
    if (life == 3) EXPECT_EQ(checkpoints(), std::vector<std::string>{"chk-000000000005"});
  }
  EXPECT_EQ(checkpoints(), (std::vector<std::string>{"chk-000000000005", "chk-000000000010"}));
  // The log keeps only the batches after the oldest kept checkpoint.
  std::vector<std::string> logged;
  for (const auto& entry : fs::directory_iterator(dir / "state" / "offsets")) {
    logged.push_back(entry.path().filename().string());
  }
  std::sort(logged.begin(), logged.end());
  EXPECT_EQ(logged, (std::vector<std::string>{"000000000006", "000000000007", "000000000008",
                                              "000000000009", "000000000010"}));
}

// trigger.interval 0s: as fast as possible. A generator making 200 records
// available over 0.2 s is read in many batches, each starting when the last
// ends (a 1 s interval would read them all in one batch, a second later).
TEST(Executor, AZeroTriggerIntervalRunsBatchesBackToBack) {
  const fs::path dir = fs::path(::testing::TempDir()) / "executor_test_zero_interval";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto job = LoadJobText(
      "name: fast\n"
      "sources:\n"
      "  - name: numbers\n"
      "    generator: { kind: regression, count: 200, rate: 1000, seed: 1 }\n"
      "sinks:\n"
      "  - name: out\n"
      "    file: { path: " +
          (dir / "out.jsonl").string() +
          " }\n"
          "    format: json\n"
          "state: { dir: " +
          (dir / "state").string() +
          " }\n"
          "trigger: { interval: 0s }\n",
      (dir / "job.yaml").string());
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto plan = PlanJob(std::move(job).value(), ConnectorContext());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ((*plan)->trigger_interval_micros, 0);
  auto summary = RunJob(**plan, ExecutorOptions());
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->records_in, 200);
  EXPECT_GE(summary->batches, 3);
  EXPECT_LT(summary->seconds, 5.0);
}

}  // namespace
}  // namespace eddy
