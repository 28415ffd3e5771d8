// Kafka -> Kafka throughput: Eddy jobs against a raw librdkafka
// consume -> produce loop with no processing, in the same run, on the same
// broker (`eddy broker`, a process of its own), over the same 1M generated
// YSB ad events (JSON, ~200 bytes):
// passthrough of the raw bytes with the exactly-once sink (the default) and
// with `delivery: at_least_once`, JSON decode + encode, filter + select, and
// the YSB query (bench::YsbJobYaml: filter, lookup join, 10 s window).
//
//   build/tests/bench/kafka_throughput_bench [--events N] [--rounds R] [--variants 0,1]
//
// --variants runs only those variants (indexes in the table; -1: the raw
// loop) and no raw loop unless asked, for profiling one. EDDY_BENCH_VERBOSE=1
// prints each run's `perf report --time` range and every batch.
//
// Prints events/s for each variant and its ratio to the raw loop. The mock
// broker keeps only ~5 MiB per partition (shared/KAFKA-NOTES.md), so the
// input topic has enough partitions to hold every event.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/bench/bench_util.h"
#include "tests/bench/broker_process.h"

namespace eddy {
namespace {

using bench::RawLoop;
using bench::RunJobText;

constexpr int kInputPartitions = 64;
constexpr int kOutputPartitions = 8;
// The Eddy variants each round runs (the table in main).
constexpr int kVariantCount = 5;

const char* kYsbSchema =
    "    schema:\n"
    "      - { name: user_id, type: string }\n"
    "      - { name: page_id, type: string }\n"
    "      - { name: ad_id, type: string }\n"
    "      - { name: ad_type, type: string }\n"
    "      - { name: event_type, type: string }\n"
    "      - { name: event_time, type: timestamp }\n"
    "      - { name: ip_address, type: string }\n";

std::string SourceYaml(const std::string& format) {
  return "sources:\n"
         "  - name: in\n"
         "    kafka: { topics: [bench-in] }\n"
         "    format: " +
         format + "\n" + (format == "json" ? kYsbSchema : "");
}

std::string SinkYaml(const std::string& topic, const std::string& format,
                     const std::string& delivery) {
  return "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " +
         topic + (delivery.empty() ? "" : ", delivery: " + delivery) +
         " }\n"
         "    format: " +
         format +
         "\n"
         "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
         // Each job its own state, so none resumes another's progress.
         "state: { dir: " +
         bench::FreshDir("/tmp/eddy-bench-state/" + topic) + " }\n";
}

struct Variant {
  std::string name;
  std::string yaml;  // without the output topic's sink, added per round
  std::string format;
  std::string delivery;  // empty: the default, exactly_once
  bool ysb = false;      // the YSB job (bench::YsbJobYaml) instead of `yaml`
};

// EDDY_BENCH_VERBOSE=1: prints the CLOCK_MONOTONIC range of a run from
// `started` until now, for `perf report --time START,END` of a recording
// made with `perf record -k CLOCK_MONOTONIC`.
void PrintPerfRange(const std::string& what, bench::Clock::time_point started) {
  if (std::getenv("EDDY_BENCH_VERBOSE") == nullptr) return;
  auto monotonic = [](bench::Clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  std::fprintf(stderr, "  %s: --time %.6f,%.6f\n", what.c_str(), monotonic(started),
               monotonic(bench::Clock::now()));
}

// The YSB query over bench-in, its window counts to `topic`.
std::string YsbYaml(const std::string& topic) {
  bench::YsbJobOptions job;
  job.name = "bench-ysb";
  job.input = "bench-in";
  job.output = topic;
  job.trigger = "{ interval: 1ms, max_records_per_partition: 100000 }";
  job.checkpoint_every = 1;
  job.state_dir = "/tmp/eddy-bench-state/" + topic;
  return bench::YsbJobYaml(job);
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  int64_t events = 1000000;
  int rounds = 2;
  std::vector<int64_t> only;  // variant indexes to run (empty: all), e.g. to profile one
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) events = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--variants") == 0) only = bench::ParseList(argv[i + 1]);
  }
  // The broker in its own process (shared/KAFKA-NOTES.md), with every topic
  // the rounds write: the input, the campaigns table, and one fresh output
  // topic per round for the raw loop and for each variant.
  const std::string broker_dir = "/tmp/eddy-bench-state/broker";
  std::filesystem::remove_all(broker_dir);
  std::filesystem::create_directories(broker_dir);
  std::vector<std::string> topics = {"bench-in:" + std::to_string(kInputPartitions),
                                     "ysb-campaigns:1"};
  for (int idx = 0; idx < rounds * (1 + kVariantCount); ++idx) {
    topics.push_back("out-" + std::to_string(idx) + ":" + std::to_string(kOutputPartitions));
  }
  bench::BrokerProcess broker(broker_dir, topics);
  const std::string bootstrap = broker.bootstrap();

  int64_t generated = 0;
  bench::GeneratorJobOptions campaigns;
  campaigns.name = "bench-fill-campaigns";
  campaigns.kind = "ysb_campaigns";
  campaigns.topic = "ysb-campaigns";
  campaigns.state_dir = "/tmp/eddy-bench-state/fill-campaigns";
  int64_t campaign_rows = 0;
  RunJobText(bench::GeneratorJobYaml(campaigns), bootstrap, &campaign_rows);
  // Large producer batches: the mock broker returns one producer batch per
  // partition per fetch (shared/KAFKA-NOTES.md), and the measured loops
  // must not be bound by tiny fetches.
  bench::GeneratorJobOptions fill;
  fill.name = "bench-fill";
  fill.count = events;
  fill.partitions = kInputPartitions;
  fill.topic = "bench-in";
  fill.state_dir = "/tmp/eddy-bench-state/fill";
  const std::string generator = bench::GeneratorJobYaml(fill);
  const double fill_seconds = RunJobText(generator, bootstrap, &generated);
  std::printf("filled bench-in with %lld YSB events in %.2fs\n", static_cast<long long>(generated),
              fill_seconds);

  const std::vector<Variant> variants = {
      {"passthrough (raw bytes), exactly_once", "name: bench-pass-raw\n" + SourceYaml("raw"), "raw",
       ""},
      {"passthrough (raw bytes), at_least_once", "name: bench-pass-raw-alo\n" + SourceYaml("raw"),
       "raw", "at_least_once"},
      {"passthrough (json decode+encode)", "name: bench-pass-json\n" + SourceYaml("json"), "json",
       ""},
      {"filter+select (json)",
       "name: bench-filter-select\n" + SourceYaml("json") +
           "operators:\n"
           "  - name: views\n"
           "    filter: event_type = 'view'\n"
           "  - name: shaped\n"
           "    select: [ad_id, event_time, upper(ad_type) AS ad_type]\n",
       "json", ""},
      {"YSB (filter, lookup join, window)", "", "json", "", true},
  };

  if (variants.size() != kVariantCount) bench::Die("kVariantCount does not match the variants");
  std::vector<double> raw_rates;
  std::vector<std::vector<double>> variant_rates(variants.size());
  std::vector<std::vector<bench::RunTimes>> variant_times(variants.size());
  int topic_counter = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string raw_topic = "out-" + std::to_string(topic_counter++);
    // --variants is for profiling one variant: no raw loop unless -1 is listed.
    if (only.empty() || std::find(only.begin(), only.end(), -1) != only.end()) {
      const auto started = bench::Clock::now();
      raw_rates.push_back(static_cast<double>(generated) / RawLoop(bootstrap, "bench-in",
                                                                   kInputPartitions, raw_topic,
                                                                   kOutputPartitions, generated));
      PrintPerfRange("raw loop", started);
    }
    for (size_t v = 0; v < variants.size(); ++v) {
      if (!only.empty() &&
          std::find(only.begin(), only.end(), static_cast<int64_t>(v)) == only.end()) {
        continue;
      }
      const std::string topic = "out-" + std::to_string(topic_counter++);
      int64_t records_in = 0;
      const Variant& variant = variants[v];
      const std::string yaml =
          variant.ysb ? YsbYaml(topic)
                      : variant.yaml + SinkYaml(topic, variant.format, variant.delivery);
      bench::RunTimes times;
      const auto started = bench::Clock::now();
      const double seconds = RunJobText(yaml, bootstrap, &records_in, &times);
      PrintPerfRange(variant.name, started);
      // The YSB job also reads the campaigns table.
      if (variant.ysb) records_in -= campaign_rows;
      if (records_in != generated) {
        std::fprintf(stderr, "%s read %lld of %lld events\n", variants[v].name.c_str(),
                     static_cast<long long>(records_in), static_cast<long long>(generated));
        return 1;
      }
      variant_rates[v].push_back(static_cast<double>(records_in) / seconds);
      variant_times[v].push_back(times);
    }
  }
  const auto best = bench::Best;
  const double raw = raw_rates.empty() ? 0 : best(raw_rates);
  // x raw: best against best; per round: against that round's raw loop.
  std::printf("\n%-40s %14s %8s  %s\n", "Kafka -> Kafka, 1 broker, 2 cores", "events/s", "x raw",
              "x raw per round");
  std::printf("%-40s %14.0f %8.2f\n", "raw librdkafka consume->produce", raw, 1.0);
  for (size_t v = 0; v < variants.size(); ++v) {
    if (variant_rates[v].empty()) continue;
    const double rate = best(variant_rates[v]);
    std::string per_round;
    for (size_t round = 0; round < variant_rates[v].size(); ++round) {
      char ratio[16];
      if (round >= raw_rates.size()) break;
      std::snprintf(ratio, sizeof(ratio), " %.2f", variant_rates[v][round] / raw_rates[round]);
      per_round += ratio;
    }
    std::printf("%-40s %14.0f %8.2f  %s\n", variants[v].name.c_str(), rate, rate / raw,
                per_round.c_str());
  }
  std::printf("(best of %d rounds, %lld events each)\n", rounds, static_cast<long long>(generated));
  // Where each variant's wall time went, per round: opening (sources,
  // state, sink recovery), the batches, the rest (the end offsets asked
  // before the first batch, the final checkpoint).
  std::printf("\n%-40s %s\n", "seconds per round", "open + batches (n) + other");
  for (size_t v = 0; v < variants.size(); ++v) {
    std::string rounds_text;
    for (const bench::RunTimes& times : variant_times[v]) {
      char text[64];
      std::snprintf(text, sizeof(text), "  %.2f + %.2f (%lld) + %.2f", times.open_seconds,
                    times.batch_seconds, static_cast<long long>(times.batches),
                    times.other_seconds);
      rounds_text += text;
    }
    std::printf("%-40s%s\n", variants[v].name.c_str(), rounds_text.c_str());
  }
  return 0;
}
