// The executor in one process, without a broker: parallel tasks, in-task
// and batch-wide stages, sinks written in task order. Also the test that
// runs under ThreadSanitizer in CI (deploy/sanitize.sh).

#include "runtime/engine/executor.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace eddy
