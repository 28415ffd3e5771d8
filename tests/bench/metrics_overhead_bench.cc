// What Prometheus metrics cost: the same job (YSB generator -> filter ->
// JSON file sink, ~1M records in once mode, many small batches so the
// per-batch work shows) with metrics off and on, alternating in the same
// run. "On" is what `eddy run` does: a live /metrics endpoint, a JobMetrics
// fed from every BatchReport, and a scrape every second.
//
//   build/tests/bench/metrics_overhead_bench [--events N] [--rounds R]
//
// Prints the best and median records/s of each variant and on/off (1.0 =
// free; on two busy cores run-to-run noise is a few percent either way), and
// the direct cost: time spent inside JobMetrics::RecordBatch per batch.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/metrics/metrics.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

struct Round {
  double seconds = 0;
  int64_t records = 0;
  int64_t batches = 0;
  double metrics_seconds = 0;  // inside JobMetrics::RecordBatch
};

Round RunOnce(int64_t events, const std::string& out_path, bool metrics_on) {
  // A fresh state directory per round: a round must not resume the last.
  const std::string state_dir = out_path + ".state";
  std::filesystem::remove_all(state_dir);
  const std::string yaml =
      "name: metrics-bench\n"
      "sources:\n"
      "  - name: ads\n"
      "    generator: { kind: ysb, count: " +
      std::to_string(events) +
      ", partitions: 4 }\n"
      "operators:\n"
      "  - name: views\n"
      "    filter: event_type = 'view'\n"
      "sinks:\n"
      "  - name: out\n"
      "    file: { path: " +
      out_path +
      " }\n"
      "    format: json\n"
      "state: { dir: " +
      state_dir +
      " }\n"
      "trigger:\n"
      "  interval: 100ms\n"
      "  max_records_per_partition: 5000\n";
  auto job = LoadJobText(yaml, "metrics-bench.yaml");
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", job.status().ToString().c_str());
    std::exit(1);
  }
  auto plan = PlanJob(std::move(job).value(), ConnectorContext());
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().ToString().c_str());
    std::exit(1);
  }
  Round round;
  std::unique_ptr<MetricsRegistry> registry;
  std::atomic<bool> done{false};
  std::thread scraper;
  ExecutorOptions options;
  options.once = true;
  if (metrics_on) {
    auto started = StartMetrics("127.0.0.1:0");
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    registry = std::move(started).value();
    JobMetrics* metrics = &registry->ForJob("metrics-bench");
    options.on_batch = [metrics, &round](const BatchReport& report) {
      const auto begin = Clock::now();
      metrics->RecordBatch(report);
      round.metrics_seconds += std::chrono::duration<double>(Clock::now() - begin).count();
    };
    scraper = std::thread([&] {
      size_t bytes = 0;
      while (!done.load()) {
        bytes += registry->Scrape().size();
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      if (bytes == 0) std::fprintf(stderr, "empty scrape\n");
    });
  }
  const auto start = Clock::now();
  auto summary = RunJob(**plan, options);
  round.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  done = true;
  if (scraper.joinable()) scraper.join();
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n", summary.status().ToString().c_str());
    std::exit(1);
  }
  round.records = summary->records_in;
  round.batches = summary->batches;
  std::filesystem::remove(out_path);
  std::filesystem::remove_all(state_dir);
  return round;
}

int Main(int argc, char** argv) {
  int64_t events = 1000000;
  int rounds = 3;
  for (int idx = 1; idx + 1 < argc; idx += 2) {
    if (std::strcmp(argv[idx], "--events") == 0) events = std::atoll(argv[idx + 1]);
    if (std::strcmp(argv[idx], "--rounds") == 0) rounds = std::atoi(argv[idx + 1]);
  }
  const std::string out_path = (std::filesystem::temp_directory_path() /
                                ("eddy-metrics-bench-" + std::to_string(::getpid()) + ".jsonl"))
                                   .string();
  std::printf(
      "metrics overhead: %lld YSB events, generator -> filter -> JSON file, %d rounds each\n",
      static_cast<long long>(events), rounds);
  double best_off = 0;
  double best_on = 0;
  double metrics_seconds = 0;
  int64_t metered_batches = 0;
  std::vector<double> rates_off;
  std::vector<double> rates_on;
  RunOnce(events / 10, out_path, false);  // warm up page cache and allocator
  for (int round = 0; round < rounds; ++round) {
    // Alternate so drift (thermal, page cache) hits both variants alike.
    for (bool on : {false, true}) {
      const Round result = RunOnce(events, out_path, on);
      const double rate = static_cast<double>(result.records) / result.seconds;
      std::printf("  round %d metrics %-3s %8.0f records/s (%lld batches, %.2fs)\n", round + 1,
                  on ? "on" : "off", rate, static_cast<long long>(result.batches), result.seconds);
      (on ? best_on : best_off) = std::max(on ? best_on : best_off, rate);
      (on ? rates_on : rates_off).push_back(rate);
      if (on) {
        metrics_seconds += result.metrics_seconds;
        metered_batches += result.batches;
      }
    }
  }
  std::printf("best: metrics off %.0f records/s, on %.0f records/s, on/off = %.3f\n", best_off,
              best_on, best_on / best_off);
  auto median = [](std::vector<double> rates) {
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  };
  std::printf("median: metrics off %.0f records/s, on %.0f records/s, on/off = %.3f\n",
              median(rates_off), median(rates_on), median(rates_on) / median(rates_off));
  // The direct cost, free of run-to-run noise: time inside RecordBatch.
  const double per_batch =
      metrics_seconds / static_cast<double>(std::max<int64_t>(1, metered_batches));
  std::printf(
      "RecordBatch: %.1f us per batch (%lld batches); at the best rate's batch time that is "
      "%.3f%%\n",
      per_batch * 1e6, static_cast<long long>(metered_batches),
      100.0 * per_batch /
          (static_cast<double>(events) / best_on / static_cast<double>(metered_batches / rounds)));
  return 0;
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) { return eddy::Main(argc, argv); }
