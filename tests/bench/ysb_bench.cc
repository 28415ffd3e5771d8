// The Yahoo Streaming Benchmark pipeline through the embedded broker:
//
//   Kafka ysb events (JSON) -> filter event_type = 'view' -> select ad_id,
//   event_time -> lookup_join ad -> campaign (table from a Kafka topic) ->
//   tumbling 10 s event-time window per campaign_id, count(*) -> Kafka
//
//   build/tests/bench/ysb_bench [--events N] [--rounds K] [--rate R] [--seconds S]
//                               [--live-partitions P]
//
// Three measurements on one broker, in one process:
//  1. max throughput: the job in once mode over N pre-filled events (64
//     partitions, large producer batches), next to a raw librdkafka
//     consume -> produce loop over the same input (ratio engine / raw);
//  2. sustained rate: a generator job produces R events/s into Kafka for S
//     seconds in a thread while the pipeline runs continuously; the
//     generator's event time is wall-clock time (start_time = now, rate = R),
//     so a window [start, end) is complete, in wall time, at `end` (plus
//     the measured gap between start_time and the generator's start, which
//     is taken off the figures).
//     Latency of a window result, two ways: (a) wall-clock time at which the
//     batch that wrote the row finished (outputs acknowledged, on_batch) -
//     window_end; (b) wall-clock time at which this benchmark's consumer of
//     the output topic received the row - window_end. Both
//     include the 1 s out-of-orderness bound (the watermark passes `end`
//     only once an event of time >= end + 1 s was read from every
//     partition), the generator's and the pipeline's trigger intervals, the
//     produce / fetch round trips and the batch's processing;
//  3. checkpoints: every few batches in both runs (BatchReport's
//     checkpoint_seconds / checkpoint_bytes).

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "connectors/kafka/kafka_client.h"
#include "runtime/core/batch.h"
#include "tests/bench/bench_util.h"

namespace eddy {
namespace {

using bench::Clock;
using bench::Die;
using bench::Percentile;
using bench::WallMicros;

constexpr int kInputPartitions = 64;
constexpr int kOutputPartitions = 8;
const char* kStateRoot = "/tmp/eddy-ysb-bench";

// Per-batch figures collected through ExecutorOptions::on_batch.
struct BatchStats {
  std::string label;  // for EDDY_BENCH_VERBOSE
  std::vector<double> checkpoint_seconds;
  std::vector<uint64_t> checkpoint_bytes;
  int64_t max_lag = 0;
  int64_t batches = 0;
  int64_t records_out = 0;
  int64_t late = 0;
  int64_t first_records_micros = 0;  // wall time the first batch with input finished
  int64_t last_records_micros = 0;   // ... and the last one
  // Per window row written (from the batch's samples, when requested):
  // wall time the batch finished (its outputs acknowledged) - window_end.
  std::vector<double> batch_latencies;

  void Add(const BatchReport& report) {
    ++batches;
    records_out += report.records_out;
    late += report.late_records;
    max_lag = std::max(max_lag, report.lag);
    if (report.records_in > 0) {
      if (first_records_micros == 0) first_records_micros = WallMicros();
      last_records_micros = WallMicros();
    }
    if (!report.samples.empty()) {
      const int64_t now = WallMicros();
      static constexpr std::string_view kField = "window_end=";
      for (const std::string& sample : report.samples) {
        const size_t at = sample.find(kField);
        if (at == std::string::npos) continue;
        const size_t begin = at + kField.size();
        const size_t end = std::min(sample.find(',', begin), sample.size());
        if (auto window_end = ParseTimestamp(std::string_view(sample).substr(begin, end - begin))) {
          batch_latencies.push_back(static_cast<double>(now - *window_end) / 1e6);
        }
      }
    }
    if (report.checkpointed) {
      checkpoint_seconds.push_back(report.checkpoint_seconds);
      checkpoint_bytes.push_back(report.checkpoint_bytes);
    }
    if (!report.checkpoint_error.empty()) Die("checkpoint failed: " + report.checkpoint_error);
    if (std::getenv("EDDY_BENCH_VERBOSE") != nullptr) {
      std::fprintf(stderr,
                   "  %s batch %lld: in=%lld out=%lld lag=%lld fetch=%.0fms process=%.0fms "
                   "sink=%.0fms total=%.0fms%s\n",
                   label.c_str(), static_cast<long long>(report.batch_id),
                   static_cast<long long>(report.records_in),
                   static_cast<long long>(report.records_out), static_cast<long long>(report.lag),
                   report.fetch_seconds * 1e3, report.process_seconds * 1e3,
                   report.sink_seconds * 1e3, report.total_seconds * 1e3,
                   report.checkpointed ? " checkpoint" : "");
    }
  }
};

RunSummary Run(JobPlan& plan, ExecutorOptions options, BatchStats* stats) {
  options.on_batch = [stats](const BatchReport& report) { stats->Add(report); };
  return bench::RunOrDie(plan, options);
}

std::string StateDir(const std::string& name) { return std::string(kStateRoot) + "/" + name; }

// A generator -> Kafka job (bench::GeneratorJobYaml). rate 0: everything at
// once (pre-filling); otherwise R events/s with event time = wall time from
// start_time on.
std::string GeneratorJob(const std::string& name, const std::string& kind, int64_t count,
                         double rate, const std::string& start_time, int partitions,
                         const std::string& topic) {
  bench::GeneratorJobOptions options;
  options.name = name;
  options.kind = kind;
  options.count = count;
  options.rate = rate;
  options.start_time = start_time;
  options.partitions = partitions;
  options.topic = topic;
  options.state_dir = StateDir(name);
  return bench::GeneratorJobYaml(options);
}

// The YSB query over `input`, results to `output` (bench::YsbJobYaml).
std::string PipelineJob(const std::string& name, const std::string& input,
                        const std::string& output, const std::string& trigger,
                        int checkpoint_every) {
  bench::YsbJobOptions options;
  options.name = name;
  options.input = input;
  options.output = output;
  options.trigger = trigger;
  options.checkpoint_every = checkpoint_every;
  options.state_dir = StateDir(name);
  return bench::YsbJobYaml(options);
}

// Reads the window results as they are written and records, per row,
// (receive wall time - window_end) in seconds.
class OutputWatcher {
 public:
  OutputWatcher(const std::string& bootstrap, const std::string& topic) {
    KafkaClientConfig config{bootstrap, {{"fetch.wait.max.ms", "5"}}};
    auto consumer = CreateConsumer(config, "bench-watch");
    if (!consumer.ok()) Die("watcher: " + consumer.status().ToString());
    consumer_ = std::move(consumer).value();
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kOutputPartitions);
    for (int p = 0; p < kOutputPartitions; ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(consumer_.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    thread_ = std::thread([this] { Loop(); });
  }

  ~OutputWatcher() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(consumer_.get());
  }

  const std::vector<double>& latencies() const { return latencies_; }
  int64_t unparsed() const { return unparsed_; }

 private:
  void Loop() {
    rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer_.get());
    std::vector<rd_kafka_message_t*> messages(1024);
    static constexpr std::string_view kField = "\"window_end\":\"";
    while (!stop_) {
      const ssize_t count =
          rd_kafka_consume_batch_queue(queue, 20, messages.data(), messages.size());
      const int64_t now = WallMicros();
      for (ssize_t i = 0; i < count; ++i) {
        rd_kafka_message_t* message = messages[i];
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const std::string_view row(static_cast<const char*>(message->payload), message->len);
          const size_t at = row.find(kField);
          const size_t end = at == std::string_view::npos ? at : row.find('"', at + kField.size());
          std::optional<TimestampMicros> window_end;
          if (end != std::string_view::npos) {
            window_end = ParseTimestamp(row.substr(at + kField.size(), end - at - kField.size()));
          }
          if (window_end) {
            latencies_.push_back(static_cast<double>(now - *window_end) / 1e6);
          } else {
            ++unparsed_;
          }
        }
        rd_kafka_message_destroy(message);
      }
    }
    rd_kafka_queue_destroy(queue);
  }

  KafkaHandle consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<double> latencies_;
  int64_t unparsed_ = 0;
};

void PrintCheckpoints(const char* label, const BatchStats& stats) {
  if (stats.checkpoint_seconds.empty()) {
    std::printf("%-44s none\n", label);
    return;
  }
  double sum = 0;
  for (double s : stats.checkpoint_seconds) sum += s;
  uint64_t max_bytes =
      *std::max_element(stats.checkpoint_bytes.begin(), stats.checkpoint_bytes.end());
  std::printf("%-44s %zu checkpoints, mean %.1f ms, p99/max %.1f ms, size up to %.1f KiB\n", label,
              stats.checkpoint_seconds.size(), 1e3 * sum / stats.checkpoint_seconds.size(),
              1e3 * Percentile(stats.checkpoint_seconds, 0.99),
              static_cast<double>(max_bytes) / 1024.0);
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  int64_t events = 1000000;
  double rate = 40000;
  double seconds = 40;
  int rounds = 1;
  int live_partitions = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0)
      events = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rate") == 0)
      rate = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rounds") == 0)
      rounds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--live-partitions") == 0)
      live_partitions = std::atoi(argv[i + 1]);
    else
      Die(std::string("unknown flag ") + argv[i]);
  }
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string bootstrap = (*broker)->bootstrap();
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
           {"ysb-in", kInputPartitions}, {"ysb-live", live_partitions}, {"ysb-campaigns", 1}}) {
    if (Status status = (*broker)->CreateTopic(topic, partitions); !status.ok()) {
      Die(status.ToString());
    }
  }

  // The ad -> campaign table (100 campaigns x 10 ads, same seed as the events).
  {
    auto plan = bench::PlanOrDie(
        GeneratorJob("ysb-fill-campaigns", "ysb_campaigns", 0, 0, "", 1, "ysb-campaigns"),
        bootstrap);
    ExecutorOptions options;
    options.once = true;
    BatchStats stats;
    const RunSummary summary = Run(*plan, options, &stats);
    std::printf("ysb-campaigns: %lld ad -> campaign rows\n",
                static_cast<long long>(summary.records_in));
  }

  // 1. Max throughput over a pre-filled topic, against the raw loop.
  {
    auto plan = bench::PlanOrDie(
        GeneratorJob("ysb-fill", "ysb", events, 0, "", kInputPartitions, "ysb-in"), bootstrap);
    ExecutorOptions options;
    options.once = true;
    BatchStats stats;
    const auto start = Clock::now();
    const RunSummary summary = Run(*plan, options, &stats);
    std::printf("ysb-in: %lld events in %.2fs\n", static_cast<long long>(summary.records_in),
                std::chrono::duration<double>(Clock::now() - start).count());
    if (summary.records_in != events) Die("generator wrote fewer events than asked");
  }
  std::vector<double> raw_rates, engine_rates;
  BatchStats max_stats;
  int64_t windows_out = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string raw_topic = "raw-out-" + std::to_string(round);
    const std::string out_topic = "ysb-out-" + std::to_string(round);
    (*broker)->CreateTopic(raw_topic, kOutputPartitions).IgnoreError();
    (*broker)->CreateTopic(out_topic, kOutputPartitions).IgnoreError();
    const double raw_seconds =
        bench::RawLoop(bootstrap, "ysb-in", kInputPartitions, raw_topic, kOutputPartitions, events);
    raw_rates.push_back(static_cast<double>(events) / raw_seconds);

    auto plan =
        bench::PlanOrDie(PipelineJob("ysb-max-" + std::to_string(round), "ysb-in", out_topic,
                                     "{ interval: 1ms, max_records_per_partition: 4000 }",
                                     /*checkpoint_every=*/1),
                         bootstrap);
    ExecutorOptions options;
    options.once = true;
    BatchStats stats{"max"};
    const auto start = Clock::now();
    const RunSummary summary = Run(*plan, options, &stats);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    // records_in counts both sources: the events and the 1000 table rows.
    if (summary.records_in < events) {
      Die("pipeline read " + std::to_string(summary.records_in) + " of " + std::to_string(events));
    }
    engine_rates.push_back(static_cast<double>(events) / elapsed);
    windows_out = stats.records_out;
    if (round == rounds - 1) max_stats = stats;
    std::printf(
        "round %d: raw %.0f events/s, ysb pipeline %.0f events/s (%lld batches, %lld window "
        "rows)\n",
        round, raw_rates.back(), engine_rates.back(), static_cast<long long>(stats.batches),
        static_cast<long long>(stats.records_out));
  }

  // 2. Sustained rate with event time = wall time.
  std::vector<double> latencies;
  int64_t unparsed = 0;
  BatchStats live_stats{"live"};
  RunSummary live_summary;
  RunSummary generated_summary;
  double skew_ms = 0;
  double live_seconds = 0;
  {
    (*broker)->CreateTopic("ysb-live-out", kOutputPartitions).IgnoreError();
    auto pipeline =
        bench::PlanOrDie(PipelineJob("ysb-live", "ysb-live", "ysb-live-out",
                                     "{ interval: 100ms, max_records_per_partition: 5000 }",
                                     /*checkpoint_every=*/5),
                         bootstrap);
    const int64_t count = static_cast<int64_t>(rate * seconds);
    // The generator's event time of record i is start_time + i / rate and it
    // releases record i at (source open) + i / rate: start_time is taken just
    // before planning, and the gap to RunJob (skew, ~0.1 s: planning connects
    // the Kafka sink) is measured and taken off the latencies.
    OutputWatcher watcher(bootstrap, "ysb-live-out");
    const int64_t start_micros = WallMicros();
    auto generator =
        bench::PlanOrDie(GeneratorJob("ysb-live-gen", "ysb", count, rate,
                                      FormatTimestamp(start_micros), live_partitions, "ysb-live"),
                         bootstrap);
    std::atomic<bool> generator_done{false};
    std::thread generator_thread([&] {
      skew_ms = static_cast<double>(WallMicros() - start_micros) / 1e3;
      ExecutorOptions options;
      BatchStats stats{"generator"};
      generated_summary = Run(*generator, options, &stats);
      generator_done = true;
    });
    ExecutorOptions options;
    options.drain = &generator_done;
    // Every window row comes back as a sample (100 campaigns per window).
    options.samples_per_batch = 100000;
    const auto start = Clock::now();
    live_summary = Run(*pipeline, options, &live_stats);
    live_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    generator_thread.join();
    // Give the watcher time to read the last batch's rows.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    watcher.Stop();
    latencies = watcher.latencies();
    unparsed = watcher.unparsed();
    // Record i's event time is start_time + i / rate but it is released at
    // (source open) + i / rate: window_end maps to wall time window_end + skew.
    for (double& latency : latencies) latency -= skew_ms / 1e3;
    for (double& latency : live_stats.batch_latencies) latency -= skew_ms / 1e3;
  }

  const auto best = bench::Best;
  const double raw = best(raw_rates);
  const double engine = best(engine_rates);
  std::printf("\n== YSB, 1 embedded broker, %lld events, best of %d ==\n",
              static_cast<long long>(events), rounds);
  std::printf("%-44s %12.0f events/s\n", "raw librdkafka consume->produce", raw);
  std::printf("%-44s %12.0f events/s  (%.0f%% of raw)\n",
              "YSB pipeline, once over pre-filled topic", engine, 100.0 * engine / raw);
  std::printf("%-44s %12lld\n", "window rows written", static_cast<long long>(windows_out));
  PrintCheckpoints("checkpoints (every batch)", max_stats);

  const int64_t live_events = live_summary.records_in;
  const double live_span =
      static_cast<double>(live_stats.last_records_micros - live_stats.first_records_micros) / 1e6;
  std::printf("\n== sustained: target %.0f events/s for %.0fs (generator in a thread) ==\n", rate,
              seconds);
  std::printf("%-44s %lld of %lld\n", "events generated / read by the pipeline",
              static_cast<long long>(generated_summary.records_in),
              static_cast<long long>(live_events));
  std::printf("%-44s %12.0f events/s  (%.1fs from first to last batch with input)\n",
              "achieved rate through the pipeline",
              live_span > 0 ? static_cast<double>(live_events) / live_span : 0.0, live_span);
  std::printf("%-44s %lld (max over batches)\n", "lag behind the input topic",
              static_cast<long long>(live_stats.max_lag));
  std::printf("%-44s %lld batches in %.1fs, %lld late rows\n", "pipeline",
              static_cast<long long>(live_stats.batches), live_seconds,
              static_cast<long long>(live_stats.late));
  std::printf("%-44s %zu rows (%lld unparsed)\n", "window results received", latencies.size(),
              static_cast<long long>(unparsed));
  if (!latencies.empty()) {
    std::printf("%-44s p50 %.3fs  p99 %.3fs  min %.3fs  max %.3fs\n",
                "latency: received - window_end", Percentile(latencies, 0.5),
                Percentile(latencies, 0.99), Percentile(latencies, 0.0),
                Percentile(latencies, 1.0));
  }
  if (!live_stats.batch_latencies.empty()) {
    std::printf("%-44s p50 %.3fs  p99 %.3fs  min %.3fs  max %.3fs  (%zu rows)\n",
                "latency: batch finished - window_end", Percentile(live_stats.batch_latencies, 0.5),
                Percentile(live_stats.batch_latencies, 0.99),
                Percentile(live_stats.batch_latencies, 0.0),
                Percentile(live_stats.batch_latencies, 1.0), live_stats.batch_latencies.size());
  }
  std::printf("%-44s %.1f ms (event time runs behind release time by this; subtracted above)\n",
              "generator start_time skew", skew_ms);
  PrintCheckpoints("checkpoints (every 5 batches)", live_stats);
  return 0;
}
