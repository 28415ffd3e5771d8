// What exactly-once delivery costs (docs/exactly-once.md), two parts:
//
//   build/tests/bench/exactly_once_bench [--events N] [--rounds R]
//       [--keys 10000,100000,1000000] [--repeats K] [--batch ROWS]
//       [--skip-throughput] [--skip-recovery] [--variants 0,1,2,3] [--writer-only]
//
// --writer-only runs only the sink alone: part 1's KafkaWriter rounds and
// the sink's recovery (the tail scan of a restart) by partitions.
//
// --variants runs only those throughput variants (0/1: window counts,
// exactly_once / at_least_once; 2/3: the same plus every view row) and
// not the raw loop, e.g. to profile one under perf.
//
// 1. Throughput. The YSB job (bench::YsbJobYaml, as ysb_bench runs it: Kafka
//    JSON events -> filter views -> select -> lookup_join ad -> campaign ->
//    10 s tumbling count per campaign -> Kafka) over N pre-filled events in
//    once mode, with its Kafka sink in `delivery: exactly_once` (idempotent
//    producer with the gapless guarantee, six eddy.* headers per record,
//    tail scan at open) and in `delivery: at_least_once` (the engine's
//    default producer, idempotent too, no headers, no tail scan). The
//    window output is ~100 rows per 10 s of event time, too few to show a
//    per-record cost, so a second pair of variants also writes every
//    projected view (about a third of the events) to a second Kafka sink.
//    The four variants and the raw librdkafka loop run in interleaved
//    rounds (the order of the two modes alternates), each on a fresh output
//    topic and fresh state; reported: median and best events/s, the
//    process's CPU time per event (broker included; steadier than wall time
//    on a shared machine), and the ratio exactly_once / at_least_once of
//    the medians and of each round's pair. Also the cost of the offsets-log write the executor
//    makes before every batch, in both modes (state/offsets_log.h).
// 2. Recovery. build/eddy runs a keyed job as a subprocess (generator,
//    `regression` kind, 2 partitions -> aggregate keyed by id % K with
//    count(*) and sum -> filter id < 100 -> exactly-once Kafka sink on this
//    process's broker) until every one of K keys is in its state, gets
//    SIGKILL in the middle of a batch, and is started again; measured from
//    the restart (fork) to the log line "resuming after batch" (state
//    opened) and to the first progress line "batch=N ... in=" after it (the
//    first batch committed after the resume), with that batch's own time
//    and the state's size on disk at the kill. --repeats kills per K.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "connectors/kafka/kafka_writer.h"
#include "state/checkpoint.pb.h"
#include "state/offsets_log.h"
#include "state/state_backend.h"
#include "tests/bench/bench_util.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using bench::Clock;
using bench::Die;
using bench::ParseList;

constexpr int kInputPartitions = 64;
constexpr int kOutputPartitions = 8;
const char* kRoot = "/tmp/eddy-exactly-once-bench";

// ---------------------------------------------------------------------------
// Part 1: throughput.

struct Variant {
  std::string name;
  std::string delivery;  // exactly_once or at_least_once
  bool rows = false;     // also write every projected row
};

// One run of one variant.
struct VariantRun {
  double events_per_second = 0;
  // CPU time of this whole process (engine and in-process broker) per
  // event: less disturbed than wall time by other work on the machine.
  double cpu_micros_per_event = 0;
  int64_t batches = 0;
  int64_t records_out = 0;
  // Summed over the run's batches.
  double sink_seconds = 0;
  double process_seconds = 0;
  double checkpoint_seconds = 0;
};

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

VariantRun RunVariant(const Variant& variant, EmbeddedBroker& broker, int64_t events, int run) {
  const std::string tag = std::to_string(run);
  bench::YsbJobOptions job;
  job.name = "eo-" + std::string(variant.rows ? "rows-" : "window-") + variant.delivery + "-" + tag;
  job.input = "ysb-in";
  job.output = job.name + "-counts";
  job.rows_output = variant.rows ? job.name + "-rows" : "";
  job.trigger = "{ interval: 1ms, max_records_per_partition: 4000 }";
  job.checkpoint_every = 1;
  job.state_dir = std::string(kRoot) + "/" + job.name;
  job.delivery = variant.delivery;
  for (const std::string& topic : {job.output, job.rows_output}) {
    if (!topic.empty()) broker.CreateTopic(topic, kOutputPartitions).IgnoreError();
  }
  auto plan = bench::PlanOrDie(bench::YsbJobYaml(job), broker.bootstrap());
  VariantRun result;
  ExecutorOptions options;
  options.once = true;
  options.on_batch = [&](const BatchReport& report) {
    ++result.batches;
    result.records_out += report.records_out;
    result.sink_seconds += report.sink_seconds;
    result.process_seconds += report.process_seconds;
    if (report.checkpointed) result.checkpoint_seconds += report.checkpoint_seconds;
    if (std::getenv("EDDY_BENCH_VERBOSE") != nullptr) {
      std::fprintf(stderr,
                   "  %s batch %lld: in=%lld out=%lld fetch=%.0fms process=%.0fms sink=%.0fms "
                   "total=%.0fms\n",
                   job.name.c_str(), static_cast<long long>(report.batch_id),
                   static_cast<long long>(report.records_in),
                   static_cast<long long>(report.records_out), report.fetch_seconds * 1e3,
                   report.process_seconds * 1e3, report.sink_seconds * 1e3,
                   report.total_seconds * 1e3);
    }
  };
  const double cpu_start = ProcessCpuSeconds();
  const auto start = Clock::now();
  const RunSummary summary = bench::RunOrDie(*plan, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.cpu_micros_per_event =
      (ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(events);
  // records_in counts both sources: the events and the 1000 table rows.
  if (summary.records_in < events) {
    Die(job.name + " read " + std::to_string(summary.records_in) + " of " + std::to_string(events));
  }
  result.events_per_second = static_cast<double>(events) / seconds;
  return result;
}

// The sink alone: KafkaWriter (the Kafka sink's producing half) writing
// `records` JSON rows the size of a projected view in `mode`, in batches of
// `batch_rows`, each flushed (acknowledged) before the next. Returns {wall
// seconds, process CPU seconds}.
std::pair<double, double> WriterOnly(EmbeddedBroker& broker, Delivery mode, int64_t records,
                                     int64_t batch_rows, int run) {
  const std::string topic = "writer-only-" + std::to_string(run);
  broker.CreateTopic(topic, kOutputPartitions).IgnoreError();
  auto writer = KafkaWriter::Open(KafkaClientConfig{broker.bootstrap(), {}}, topic, "rows", mode);
  if (!writer.ok()) Die(writer.status().ToString());
  if (Status status = (*writer)->Recover({"eo-writer-bench", "0123456789abcdef"}); !status.ok()) {
    Die(status.ToString());
  }
  const std::string value =
      "{\"ad_id\":\"8d3debb0-e672-4841-9aa2-933e1c7a01c3\",\"event_time\":\"2026-01-01T00:00:00."
      "004000Z\"}";
  const double cpu_start = ProcessCpuSeconds();
  const auto start = Clock::now();
  for (int64_t i = 0; i < records; ++i) {
    const int64_t batch = 1 + i / batch_rows;
    Status status = (*writer)->Produce(static_cast<int32_t>(i % kOutputPartitions), value,
                                       std::nullopt, nullptr, batch, static_cast<int32_t>(i % 4));
    if (!status.ok()) Die(status.ToString());
    if (i % batch_rows == batch_rows - 1 || i + 1 == records) {
      if (Status flushed = (*writer)->Flush(); !flushed.ok()) Die(flushed.ToString());
    }
  }
  const auto end = Clock::now();
  if (std::getenv("EDDY_BENCH_VERBOSE") != nullptr) {
    // CLOCK_MONOTONIC seconds, for `perf report --time START,END` of a
    // recording made with `perf record -k CLOCK_MONOTONIC`.
    auto monotonic = [](Clock::time_point t) {
      return std::chrono::duration<double>(t.time_since_epoch()).count();
    };
    std::fprintf(stderr, "  writer %s, %lld per batch: --time %.6f,%.6f\n",
                 mode == Delivery::kExactlyOnce ? "exactly_once" : "at_least_once",
                 static_cast<long long>(batch_rows), monotonic(start), monotonic(end));
  }
  return {std::chrono::duration<double>(end - start).count(), ProcessCpuSeconds() - cpu_start};
}

void WriterOnlyRounds(EmbeddedBroker& broker, int64_t records, int rounds) {
  int run = 0;
  for (int64_t batch_rows : {int64_t{10000}, int64_t{100000}}) {
    std::vector<double> seconds[2], cpu[2];
    for (int round = 0; round < rounds; ++round) {
      for (int k = 0; k < 2; ++k) {
        const int m = (k + round) % 2;  // 0: exactly_once, 1: at_least_once
        const auto [wall, used] =
            WriterOnly(broker, m == 0 ? Delivery::kExactlyOnce : Delivery::kAtLeastOnce, records,
                       batch_rows, run++);
        seconds[m].push_back(wall);
        cpu[m].push_back(used);
      }
    }
    const double n = static_cast<double>(records);
    std::printf(
        "\n== the Kafka sink alone: KafkaWriter, %lld rows of 87 B, %lld per batch (flushed), "
        "%d rounds ==\n",
        static_cast<long long>(records), static_cast<long long>(batch_rows), rounds);
    for (int m = 0; m < 2; ++m) {
      std::printf("%-14s %10.0f rows/s (median), %6.2f us CPU/row (median, broker included)\n",
                  m == 0 ? "exactly_once" : "at_least_once", n / bench::Median(seconds[m]),
                  1e6 * bench::Median(cpu[m]) / n);
    }
    std::printf("exactly_once costs %+.2f us wall and %+.2f us CPU more per row (medians)\n",
                1e6 * (bench::Median(seconds[0]) - bench::Median(seconds[1])) / n,
                1e6 * (bench::Median(cpu[0]) - bench::Median(cpu[1])) / n);
  }
}

// The sink's recovery alone: the tail scan of a restart. `partitions`
// partitions each hold `ours` records of the writer, then `others` records
// of another writer of the topic (another sink) after them, which the scan
// has to read past. Returns the milliseconds of KafkaWriter::Open + Recover
// of a restarted writer (no recorded position: as from a state of an
// earlier version, the scan's worst case).
double SinkRecoveryMillis(EmbeddedBroker& broker, int partitions, int ours, int others, int run) {
  const std::string topic = "recover-" + std::to_string(run);
  broker.CreateTopic(topic, partitions).IgnoreError();
  const OutputIdentity identity{"eo-recover-bench", "0123456789abcdef"};
  const KafkaClientConfig client{broker.bootstrap(), {}};
  const std::string value(87, 'v');
  for (const auto& [writer, count] :
       {std::pair<std::string, int>{"rows", ours}, {"other", others}}) {
    auto opened = KafkaWriter::Open(client, topic, writer, Delivery::kExactlyOnce);
    if (!opened.ok()) Die(opened.status().ToString());
    if (Status status = (*opened)->Recover(identity); !status.ok()) Die(status.ToString());
    for (int i = 0; i < count * partitions; ++i) {
      Status status =
          (*opened)->Produce(i % partitions, value, std::nullopt, nullptr, 1 + i / 5000, 0);
      if (!status.ok()) Die(status.ToString());
    }
    if (Status status = (*opened)->Flush(); !status.ok()) Die(status.ToString());
  }
  const auto start = Clock::now();
  auto restarted = KafkaWriter::Open(client, topic, "rows", Delivery::kExactlyOnce);
  if (!restarted.ok()) Die(restarted.status().ToString());
  if (Status status = (*restarted)->Recover(identity); !status.ok()) Die(status.ToString());
  return 1e3 * std::chrono::duration<double>(Clock::now() - start).count();
}

void SinkRecoveryRounds(EmbeddedBroker& broker, int rounds) {
  std::printf(
      "\n== the Kafka sink's recovery alone (Open + Recover, no recorded position), "
      "median of %d ==\n",
      rounds);
  int run = 0;
  for (const auto& [partitions, others] :
       std::vector<std::pair<int, int>>{{8, 0}, {8, 2000}, {24, 0}, {24, 2000}, {64, 0}}) {
    std::vector<double> millis;
    for (int round = 0; round < rounds; ++round) {
      millis.push_back(SinkRecoveryMillis(broker, partitions, 100, others, run++));
    }
    std::printf("%2d partitions, 100 own records then %4d of another writer each: %7.1f ms\n",
                partitions, others, bench::Median(millis));
  }
}

// The executor's per-batch offsets-log write (state/offsets_log.h: a file
// per planned batch, written, fsynced, renamed, directory fsynced), for a
// batch of this job (one range per input partition), in milliseconds; and,
// for comparison, one synced RocksDB write of the same bytes.
struct OffsetsLogCost {
  size_t bytes = 0;
  double append_millis = 0;
  double rocksdb_synced_millis = 0;
};

OffsetsLogCost MeasureOffsetsLog(int writes) {
  state::PlannedBatch planned;
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
           {"ysb-in", kInputPartitions}, {"ysb-campaigns", 1}}) {
    state::PlannedSource* source = planned.add_sources();
    source->set_source(topic);
    for (int p = 0; p < partitions; ++p) {
      state::PlannedRange* range = source->add_partitions();
      range->set_topic(topic);
      range->set_partition(p);
      range->set_start(123456);
      range->set_end(127456);
    }
  }
  OffsetsLogCost cost;
  const std::string dir = bench::FreshDir(std::string(kRoot) + "/offsets-log-probe");
  OffsetsLog log(dir + "/offsets");
  auto start = Clock::now();
  for (int i = 1; i <= writes; ++i) {
    planned.set_batch_id(i);
    if (Status status = log.Append(planned); !status.ok()) Die(status.ToString());
  }
  cost.append_millis =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count() / writes;
  cost.bytes = planned.ByteSizeLong();

  StateBackendOptions options;
  options.dir = dir + "/db";
  auto backend = StateBackend::Open(options);
  if (!backend.ok()) Die(backend.status().ToString());
  const std::string bytes = planned.SerializeAsString();
  start = Clock::now();
  for (int i = 0; i < writes; ++i) {
    StateWriteBatch batch;
    batch.PutMeta("planned_batch", bytes);
    if (Status status = (*backend)->Commit(std::move(batch), /*sync=*/true); !status.ok())
      Die(status.ToString());
  }
  cost.rocksdb_synced_millis =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count() / writes;
  return cost;
}

// `only`: indices of the variants to run (empty: all), e.g. to profile one.
void Throughput(int64_t events, int rounds, const std::vector<int64_t>& only) {
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string bootstrap = (*broker)->bootstrap();
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
           {"ysb-in", kInputPartitions}, {"ysb-campaigns", 1}}) {
    if (Status status = (*broker)->CreateTopic(topic, partitions); !status.ok())
      Die(status.ToString());
  }
  int64_t filled = 0;
  bench::GeneratorJobOptions campaigns;
  campaigns.name = "eo-fill-campaigns";
  campaigns.kind = "ysb_campaigns";
  campaigns.topic = "ysb-campaigns";
  campaigns.state_dir = std::string(kRoot) + "/fill-campaigns";
  bench::RunJobText(bench::GeneratorJobYaml(campaigns), bootstrap, &filled);
  bench::GeneratorJobOptions fill;
  fill.name = "eo-fill";
  fill.count = events;
  fill.partitions = kInputPartitions;
  fill.topic = "ysb-in";
  fill.state_dir = std::string(kRoot) + "/fill";
  const double fill_seconds = bench::RunJobText(bench::GeneratorJobYaml(fill), bootstrap, &filled);
  if (filled != events) Die("the generator wrote " + std::to_string(filled) + " events");
  std::printf("ysb-in: %lld events in %.2fs\n", static_cast<long long>(filled), fill_seconds);

  const std::vector<Variant> variants = {
      {"window counts, exactly_once", "exactly_once", false},
      {"window counts, at_least_once", "at_least_once", false},
      {"+ every view row, exactly_once", "exactly_once", true},
      {"+ every view row, at_least_once", "at_least_once", true},
  };
  std::vector<std::vector<VariantRun>> runs(variants.size());
  std::vector<double> raw_rates;
  int run = 0;
  for (int round = 0; round < rounds; ++round) {
    if (only.empty()) {
      const std::string raw_topic = "raw-out-" + std::to_string(round);
      (*broker)->CreateTopic(raw_topic, kOutputPartitions).IgnoreError();
      raw_rates.push_back(static_cast<double>(events) / bench::RawLoop(bootstrap, "ysb-in",
                                                                       kInputPartitions, raw_topic,
                                                                       kOutputPartitions, events));
    }
    // Within each pair, the mode that runs first alternates by round.
    for (size_t pair = 0; pair < variants.size(); pair += 2) {
      for (size_t k = 0; k < 2; ++k) {
        const size_t v = pair + ((k + static_cast<size_t>(round)) % 2);
        if (!only.empty() &&
            std::find(only.begin(), only.end(), static_cast<int64_t>(v)) == only.end())
          continue;
        runs[v].push_back(RunVariant(variants[v], **broker, events, run++));
      }
    }
    std::printf("round %d: raw %.0f", round, raw_rates.empty() ? 0.0 : raw_rates.back());
    for (size_t v = 0; v < variants.size(); ++v) {
      if (!runs[v].empty()) std::printf(" | %.0f", runs[v].back().events_per_second);
    }
    std::printf(" events/s\n");
    std::fflush(stdout);
  }

  auto rates = [&](size_t v) {
    std::vector<double> values;
    for (const VariantRun& r : runs[v]) values.push_back(r.events_per_second);
    return values;
  };
  auto mean = [&](size_t v, double VariantRun::*field) {
    double sum = 0;
    for (const VariantRun& r : runs[v]) sum += r.*field;
    return sum / static_cast<double>(runs[v].size());
  };
  std::printf("\n== YSB job, %lld events, %d interleaved rounds, 1 embedded broker ==\n",
              static_cast<long long>(events), rounds);
  std::printf("%-34s %12s %12s %11s %8s %8s %9s %9s %9s\n", "variant", "median ev/s", "best ev/s",
              "CPU us/ev", "batches", "rows out", "sink s", "process s", "chkpt s");
  std::printf("%-34s %12.0f %12.0f\n", "raw librdkafka consume->produce", bench::Median(raw_rates),
              bench::Best(raw_rates));
  for (size_t v = 0; v < variants.size(); ++v) {
    if (runs[v].empty()) continue;
    std::vector<double> cpu;
    for (const VariantRun& r : runs[v]) cpu.push_back(r.cpu_micros_per_event);
    std::printf("%-34s %12.0f %12.0f %11.2f %8lld %8lld %9.2f %9.2f %9.2f\n",
                variants[v].name.c_str(), bench::Median(rates(v)), bench::Best(rates(v)),
                bench::Median(cpu), static_cast<long long>(runs[v][0].batches),
                static_cast<long long>(runs[v][0].records_out), mean(v, &VariantRun::sink_seconds),
                mean(v, &VariantRun::process_seconds), mean(v, &VariantRun::checkpoint_seconds));
  }
  std::printf(
      "(CPU us/ev: median over rounds of the process's CPU time per input event, broker included; "
      "sink / process / checkpoint: seconds summed over a run's batches, mean over rounds)\n");
  for (size_t pair = 0; pair < variants.size(); pair += 2) {
    if (runs[pair].empty() || runs[pair + 1].empty()) continue;
    std::vector<double> paired;
    for (size_t r = 0; r < runs[pair].size(); ++r) {
      paired.push_back(runs[pair][r].events_per_second / runs[pair + 1][r].events_per_second);
    }
    std::printf("ratio exactly_once / at_least_once, %-22s median of medians %.3f, per round:",
                pair == 0 ? "window counts:" : "every view row:",
                bench::Median(rates(pair)) / bench::Median(rates(pair + 1)));
    for (double ratio : paired) std::printf(" %.3f", ratio);
    std::vector<double> cpu_paired;
    for (size_t r = 0; r < runs[pair].size(); ++r) {
      cpu_paired.push_back(runs[pair][r].cpu_micros_per_event -
                           runs[pair + 1][r].cpu_micros_per_event);
    }
    std::printf("; CPU per event, exactly_once - at_least_once: median %.3f us\n",
                bench::Median(cpu_paired));
  }
  WriterOnlyRounds(**broker, 1000000, rounds);
  SinkRecoveryRounds(**broker, rounds);
  const OffsetsLogCost log_cost = MeasureOffsetsLog(200);
  std::printf(
      "offsets log, once per batch in both modes: OffsetsLog::Append of this job's plan (%zu B) "
      "%.3f ms; a synced RocksDB write of it %.3f ms\n",
      log_cost.bytes, log_cost.append_millis, log_cost.rocksdb_synced_millis);
}

// ---------------------------------------------------------------------------
// Part 2: recovery after kill -9.

// Microseconds since the epoch of a log line's leading
// "2026-11-26T01:55:20.123Z" (spdlog pattern of runtime/cli/main.cc).
std::optional<int64_t> LineMicros(const std::string& line) {
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + millis * 1000;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// A progress line "... job=J batch=N in=X out=... took=T ...".
struct ProgressLine {
  int64_t micros = 0;
  int64_t batch = 0;
  int64_t in = 0;
  double took_seconds = 0;
};

std::optional<ProgressLine> ParseProgress(const std::string& line) {
  const size_t batch_at = line.find(" batch=");
  const size_t in_at = line.find(" in=");
  const size_t took_at = line.find(" took=");
  if (batch_at == std::string::npos || in_at == std::string::npos || took_at == std::string::npos) {
    return std::nullopt;
  }
  auto micros = LineMicros(line);
  if (!micros) return std::nullopt;
  ProgressLine progress;
  progress.micros = *micros;
  progress.batch = std::atoll(line.c_str() + batch_at + 7);
  progress.in = std::atoll(line.c_str() + in_at + 4);
  // took= is "123ms" below 10 s, else "12s" (runtime/cli/commands.cc Duration).
  char* end = nullptr;
  const double took = std::strtod(line.c_str() + took_at + 6, &end);
  progress.took_seconds = end != nullptr && std::strncmp(end, "ms", 2) == 0 ? took / 1e3 : took;
  return progress;
}

std::string RecoveryJob(const std::string& bootstrap, const std::string& name,
                        const std::string& dir, int64_t keys, int64_t events, int64_t batch_rows) {
  return "name: " + name +
         "\n"
         "kafka: { brokers: \"" +
         bootstrap + "\" }\n" +
         "sources:\n"
         "  - name: gen\n"
         "    generator:\n"
         "      kind: regression\n"
         "      count: " +
         std::to_string(events) + "\n" +
         "      seed: 3\n"
         "      partitions: 2\n"
         "      options: { features: 1 }\n"
         "operators:\n"
         "  - name: totals\n"
         "    aggregate:\n"
         "      key: [\"id % " +
         std::to_string(keys) + " AS id\"]\n" +
         "      aggregates: [\"count(*) AS events\", \"sum(x0) AS total\"]\n"
         "  - name: some\n"
         "    filter: id < 100\n"
         "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " +
         name + " }\n" +
         "    format: json\n"
         "trigger: { interval: 1ms, max_records_per_partition: " +
         std::to_string(batch_rows / 2) + " }\n" + "state: { dir: " + dir + "/state }\n" +
         "checkpoint: { every_batches: 10, keep: 2 }\n";
}

struct Restart {
  double open_seconds = 0;         // fork -> "resuming after batch"
  double first_batch_seconds = 0;  // fork -> first progress line after it
  double first_batch_took = 0;     // that batch's own time (took=)
  bool replayed = false;           // the killed batch ran again
  uint64_t db_bytes = 0;           // at the kill
  uint64_t wal_bytes = 0;          // of which RocksDB's WAL (*.log), replayed at open
  uint64_t checkpoint_bytes = 0;
  double steady_batch_seconds = 0;  // median took= before the kill
};

// Polls `log` until `done(lines)`; dies after `timeout`.
template <typename Predicate>
std::vector<std::string> WaitForLog(const std::string& log, pid_t pid, Predicate done,
                                    std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    std::vector<std::string> lines = ReadLines(log);
    if (done(lines)) return lines;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) Die("eddy exited early; see " + log);
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      testing::WaitForExit(pid);
      Die("timed out waiting on " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int64_t RecordsIn(const std::vector<std::string>& lines) {
  int64_t in = 0;
  for (const std::string& line : lines) {
    if (auto progress = ParseProgress(line)) in += progress->in;
  }
  return in;
}

std::vector<Restart> Recovery(EmbeddedBroker& broker, int64_t keys, int repeats,
                              int64_t batch_rows) {
  const std::string name = "eo-recovery-" + std::to_string(keys);
  const std::string dir = bench::FreshDir(std::string(kRoot) + "/" + name);
  std::filesystem::create_directories(dir);
  broker.CreateTopic(name, 2).IgnoreError();
  // Enough events that the job never runs out: every key once, then a few
  // batches per restart.
  const int64_t events = 2 * keys + static_cast<int64_t>(repeats + 4) * 8 * batch_rows;
  testing::WriteFile(dir + "/job.yaml",
                     RecoveryJob(broker.bootstrap(), name, dir, keys, events, batch_rows));

  std::vector<Restart> restarts;
  // First run: until every key is in the state and one more batch ran.
  std::string log = dir + "/run-0.log";
  pid_t pid = testing::SpawnEddy({"run", dir + "/job.yaml"}, log);
  std::vector<std::string> lines = WaitForLog(
      log, pid,
      [&](const std::vector<std::string>& l) { return RecordsIn(l) >= keys + batch_rows; },
      std::chrono::seconds(600));
  for (int attempt = 0; attempt <= repeats; ++attempt) {
    std::vector<double> took;
    for (const std::string& line : lines) {
      if (auto progress = ParseProgress(line)) took.push_back(progress->took_seconds);
    }
    // Mid-batch: the progress line just seen ended one batch, the next is
    // running (the trigger is 1 ms and the source has a backlog).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid, SIGKILL);
    testing::WaitForExit(pid);
    if (attempt == repeats) break;
    Restart restart;
    restart.steady_batch_seconds = bench::Median(took);
    restart.db_bytes = bench::DirBytes(dir + "/state/db");
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/state/db", error)) {
      if (entry.path().extension() == ".log") restart.wal_bytes += entry.file_size(error);
    }
    restart.checkpoint_bytes = bench::DirBytes(dir + "/state/checkpoints");

    log = dir + "/run-" + std::to_string(attempt + 1) + ".log";
    const int64_t spawned = bench::WallMicros();
    pid = testing::SpawnEddy({"run", dir + "/job.yaml"}, log);
    // Until the first batch after the resume, then a second one (so that
    // the next kill hits a running batch with this state).
    lines = WaitForLog(
        log, pid,
        [&](const std::vector<std::string>& l) {
          int batches = 0;
          for (const std::string& line : l) batches += ParseProgress(line) ? 1 : 0;
          return batches >= 2;
        },
        std::chrono::seconds(600));
    std::optional<int64_t> resumed;
    for (const std::string& line : lines) {
      if (line.find("running it again") != std::string::npos) restart.replayed = true;
      if (!resumed && line.find("resuming after batch") != std::string::npos)
        resumed = LineMicros(line);
      if (!resumed) continue;
      if (auto progress = ParseProgress(line)) {
        restart.first_batch_seconds = static_cast<double>(progress->micros - spawned) / 1e6;
        restart.first_batch_took = progress->took_seconds;
        break;
      }
    }
    if (!resumed) Die("no \"resuming after batch\" in " + log);
    restart.open_seconds = static_cast<double>(*resumed - spawned) / 1e6;
    restarts.push_back(restart);
  }
  return restarts;
}

void Recoveries(const std::vector<int64_t>& key_counts, int repeats, int64_t batch_rows) {
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) Die(broker.status().ToString());
  std::printf("\n== recovery after kill -9: build/eddy, keyed aggregate, %lld rows per batch ==\n",
              static_cast<long long>(batch_rows));
  std::printf("%-9s %7s %7s %10s %8s %11s %11s %11s %11s %9s\n", "keys", "db MB", "WAL MB",
              "chkpts MB", "open s", "1st batch s", "its took s", "recovery s", "steady b. s",
              "replayed");
  for (int64_t keys : key_counts) {
    const std::vector<Restart> restarts = Recovery(**broker, keys, repeats, batch_rows);
    for (const Restart& r : restarts) {
      std::printf("%-9lld %7.1f %7.1f %10.1f %8.3f %11.3f %11.3f %11.3f %11.3f %9s\n",
                  static_cast<long long>(keys), static_cast<double>(r.db_bytes) / 1e6,
                  static_cast<double>(r.wal_bytes) / 1e6,
                  static_cast<double>(r.checkpoint_bytes) / 1e6, r.open_seconds,
                  r.first_batch_seconds, r.first_batch_took,
                  r.first_batch_seconds - r.first_batch_took, r.steady_batch_seconds,
                  r.replayed ? "yes" : "no");
    }
    std::fflush(stdout);
  }
  std::printf(
      "(open s: fork -> \"resuming after batch\"; 1st batch s: fork -> its progress line; "
      "recovery s = 1st batch s - its took; chkpts: hard links to db files, partly the same "
      "bytes)\n");
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  int64_t events = 1000000;
  int rounds = 3;
  std::vector<int64_t> key_counts = {10000, 100000, 1000000};
  int repeats = 2;
  int64_t batch_rows = 100000;
  bool throughput = true;
  bool recovery = true;
  bool writer_only = false;
  std::vector<int64_t> only;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--skip-throughput") {
      throughput = false;
      continue;
    }
    if (flag == "--skip-recovery") {
      recovery = false;
      continue;
    }
    if (flag == "--writer-only") {
      writer_only = true;
      continue;
    }
    if (i + 1 >= argc) bench::Die("flag " + flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--events")
      events = std::atoll(value);
    else if (flag == "--rounds")
      rounds = std::atoi(value);
    else if (flag == "--keys")
      key_counts = ParseList(value);
    else if (flag == "--repeats")
      repeats = std::atoi(value);
    else if (flag == "--batch")
      batch_rows = std::atoll(value);
    else if (flag == "--variants")
      only = ParseList(value);
    else
      bench::Die("unknown flag " + flag);
  }
  if (rounds < 1 || repeats < 1 || batch_rows < 2)
    bench::Die("--rounds, --repeats >= 1, --batch >= 2");
  if (writer_only) {
    auto broker = EmbeddedBroker::Start({});
    if (!broker.ok()) bench::Die(broker.status().ToString());
    WriterOnlyRounds(**broker, 1000000, rounds);
    SinkRecoveryRounds(**broker, rounds);
    return 0;
  }
  if (throughput) Throughput(events, rounds, only);
  if (recovery) Recoveries(key_counts, repeats, batch_rows);
  return 0;
}
