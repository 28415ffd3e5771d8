// Keyed state at scale: a keyed `aggregate` (count(*), sum) over 1M and 10M
// distinct keys, state in RocksDB, no Kafka.
//
//   generator (kind regression, one feature; `id` is the record number)
//     -> aggregate key [id % K] : count(*), sum(x0)
//     -> filter that drops every row -> file sink (writes nothing)
//
//   build/tests/bench/state_scaling_bench [--keys 1000000,10000000]
//       [--events-per-key E] [--batch ROWS] [--checkpoint-every B] [--threads T]
//
// With E = 1 (default) every event is a new key, the worst case for state:
// each batch's MultiGet misses and every key is written. The aggregate's
// update-mode output (one row per changed key per batch) is dropped by a
// filter so the sink costs nothing and the figure is the state's. Reports
// keys/s, RocksDB's estimated keys and its size on disk (the files under
// STATE_DIR/db, i.e. what `du` reports for it, checkpoints not counted).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "tests/bench/bench_util.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;
const char* kStateRoot = "/tmp/eddy-state-scaling-bench";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "state_scaling_bench: %s\n", what.c_str());
  std::exit(1);
}

using bench::DirBytes;
using bench::ParseList;

std::string JobYaml(const std::string& name, const std::string& dir, int64_t keys, int64_t events,
                    int64_t batch_rows, int64_t checkpoint_every) {
  constexpr int kPartitions = 2;
  const std::string key = events == keys ? "id" : "id % " + std::to_string(keys) + " AS id";
  return "name: " + name +
         "\n"
         "sources:\n"
         "  - name: gen\n"
         "    generator:\n"
         "      kind: regression\n"
         "      count: " +
         std::to_string(events) + "\n" +
         "      seed: 3\n"
         "      partitions: " +
         std::to_string(kPartitions) + "\n" +
         "      options: { features: 1 }\n"
         "operators:\n"
         "  - name: totals\n"
         "    aggregate:\n"
         "      key: [\"" +
         key + "\"]\n" +
         "      aggregates: [\"count(*) AS events\", \"sum(x0) AS total\"]\n"
         "  - name: dropped\n"
         "    filter: events < 0\n"
         "sinks:\n"
         "  - name: out\n"
         "    file: { path: " +
         dir + "/out.jsonl }\n" +
         "    format: json\n"
         "trigger: { interval: 1ms, max_records_per_partition: " +
         std::to_string(batch_rows / kPartitions) + " }\n" + "state: { dir: " + dir + " }\n" +
         "checkpoint: { every_batches: " + std::to_string(checkpoint_every) + ", keep: 2 }\n";
}

struct Result_ {
  int64_t keys = 0;
  int64_t events = 0;
  double seconds = 0;
  int64_t batches = 0;
  uint64_t estimated_keys = 0;
  uint64_t estimated_bytes = 0;
  uint64_t db_bytes = 0;
  double max_batch_seconds = 0;
  double last_batch_seconds = 0;
  int64_t checkpoints = 0;
  double max_checkpoint_seconds = 0;
  double last_checkpoint_seconds = 0;
  uint64_t last_checkpoint_bytes = 0;
};

Result_ RunOnce(int64_t keys, int64_t events_per_key, int64_t batch_rows, int64_t checkpoint_every,
                size_t threads) {
  Result_ result;
  result.keys = keys;
  result.events = keys * events_per_key;
  const std::string name = "state-scaling-" + std::to_string(keys);
  const std::string dir = std::string(kStateRoot) + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto job = LoadJobText(JobYaml(name, dir, keys, result.events, batch_rows, checkpoint_every),
                         "state-scaling.yaml");
  if (!job.ok()) Die(job.status().ToString());
  auto plan = PlanJob(std::move(job).value(), ConnectorContext());
  if (!plan.ok()) Die(plan.status().ToString());

  ExecutorOptions options;
  options.once = true;
  options.threads = threads;
  const bool verbose = std::getenv("EDDY_BENCH_VERBOSE") != nullptr;
  options.on_batch = [&](const BatchReport& report) {
    ++result.batches;
    result.max_batch_seconds = std::max(result.max_batch_seconds, report.total_seconds);
    if (report.records_in > 0) result.last_batch_seconds = report.total_seconds;
    for (const BatchReport::StateSize& size : report.state_sizes) {
      if (size.op == "totals") {
        result.estimated_keys = size.estimated_keys;
        result.estimated_bytes = size.bytes;
      }
    }
    if (report.checkpointed) {
      ++result.checkpoints;
      result.max_checkpoint_seconds =
          std::max(result.max_checkpoint_seconds, report.checkpoint_seconds);
      result.last_checkpoint_seconds = report.checkpoint_seconds;
      result.last_checkpoint_bytes = report.checkpoint_bytes;
    }
    if (!report.checkpoint_error.empty()) Die("checkpoint: " + report.checkpoint_error);
    if (verbose) {
      std::fprintf(
          stderr,
          "  batch %lld: in=%lld fetch=%.0fms process=%.0fms total=%.0fms est_keys=%llu%s\n",
          static_cast<long long>(report.batch_id), static_cast<long long>(report.records_in),
          report.fetch_seconds * 1e3, report.process_seconds * 1e3, report.total_seconds * 1e3,
          static_cast<unsigned long long>(result.estimated_keys),
          report.checkpointed ? " checkpoint" : "");
    }
  };
  const auto start = Clock::now();
  auto summary = RunJob(**plan, options);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!summary.ok()) Die(summary.status().ToString());
  if (summary->records_in != result.events) {
    Die("read " + std::to_string(summary->records_in) + " of " + std::to_string(result.events));
  }
  if (summary->records_out != 0) Die("the filter should drop every aggregate row");
  result.db_bytes = DirBytes(std::filesystem::path(dir) / "db");
  return result;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  std::vector<int64_t> key_counts = {1000000, 10000000};
  int64_t events_per_key = 1;
  int64_t batch_rows = 100000;
  int64_t checkpoint_every = 10;
  size_t threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--keys") == 0)
      key_counts = ParseList(argv[i + 1]);
    else if (std::strcmp(argv[i], "--events-per-key") == 0)
      events_per_key = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--batch") == 0)
      batch_rows = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--checkpoint-every") == 0)
      checkpoint_every = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--threads") == 0)
      threads = std::atoi(argv[i + 1]);
    else
      Die(std::string("unknown flag ") + argv[i]);
  }
  if (events_per_key < 1 || batch_rows < 2) Die("--events-per-key >= 1, --batch >= 2");

  std::vector<Result_> results;
  for (int64_t keys : key_counts) {
    results.push_back(RunOnce(keys, events_per_key, batch_rows, checkpoint_every, threads));
    const Result_& r = results.back();
    std::printf("%lld keys: %.1fs, %lld batches\n", static_cast<long long>(r.keys), r.seconds,
                static_cast<long long>(r.batches));
    std::fflush(stdout);
  }
  std::printf("\n%-10s %10s %9s %9s %12s %11s %11s %24s\n", "keys", "events", "seconds", "keys/s",
              "est. keys", "db on disk", "last batch", "checkpoints: n, max, last");
  for (const Result_& r : results) {
    std::printf(
        "%-10lld %10lld %9.1f %9.0f %12llu %9.1fMB %10.2fs %5lld, %5.0fms, %4.0fms %5.1fMB\n",
        static_cast<long long>(r.keys), static_cast<long long>(r.events), r.seconds,
        static_cast<double>(r.keys) / r.seconds, static_cast<unsigned long long>(r.estimated_keys),
        static_cast<double>(r.db_bytes) / 1e6, r.last_batch_seconds,
        static_cast<long long>(r.checkpoints), r.max_checkpoint_seconds * 1e3,
        r.last_checkpoint_seconds * 1e3, static_cast<double>(r.last_checkpoint_bytes) / 1e6);
  }
  std::printf(
      "(%lld rows per batch, checkpoint every %lld batches; aggregate count(*) + sum(x0), "
      "update-mode output dropped by a filter)\n",
      static_cast<long long>(batch_rows), static_cast<long long>(checkpoint_every));
  return 0;
}
