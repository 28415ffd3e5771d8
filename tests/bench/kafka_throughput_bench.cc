// Kafka -> Kafka throughput: Eddy jobs against a raw librdkafka
// consume -> produce loop with no processing, in the same run, on the same
// broker, over the same 1M generated YSB ad events (JSON, ~200 bytes).
//
//   build/tests/bench/kafka_throughput_bench [--events N] [--rounds R]
//
// Prints events/s for each variant and its ratio to the raw loop. The mock
// broker keeps only ~5 MiB per partition (shared/KAFKA-NOTES.md), so the
// input topic has enough partitions to hold every event.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "connectors/kafka/kafka_client.h"
#include "runtime/executor.h"
#include "runtime/job_plan.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kInputPartitions = 64;
constexpr int kOutputPartitions = 8;

ConnectorContext Context(const std::string& bootstrap) {
  ConnectorContext context;
  context.resolve_brokers = [bootstrap](const std::string&, const std::string&, int) {
    return Result<std::string>(bootstrap);
  };
  return context;
}

// Runs a job given as YAML text in once mode; returns seconds.
double RunJobText(const std::string& yaml, const std::string& bootstrap, int64_t* records_in) {
  auto job = LoadJobText(yaml, "bench.yaml");
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", job.status().ToString().c_str());
    std::exit(1);
  }
  auto plan = PlanJob(std::move(job).value(), Context(bootstrap));
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().ToString().c_str());
    std::exit(1);
  }
  ExecutorOptions options;
  options.once = true;
  if (std::getenv("EDDY_BENCH_VERBOSE") != nullptr) {
    options.on_batch = [](const BatchReport& report) {
      std::fprintf(stderr, "  batch %lld: in=%lld fetch=%.0fms process=%.0fms sink=%.0fms total=%.0fms\n",
                   static_cast<long long>(report.batch_id), static_cast<long long>(report.records_in),
                   report.fetch_seconds * 1e3, report.process_seconds * 1e3,
                   report.sink_seconds * 1e3, report.total_seconds * 1e3);
    };
  }
  const auto start = Clock::now();
  auto summary = RunJob(**plan, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n", summary.status().ToString().c_str());
    std::exit(1);
  }
  *records_in = summary->records_in;
  return seconds;
}

// The baseline: consume every input record and produce its bytes unchanged
// to the output topic, with the same client settings the engine uses.
double RawLoop(const std::string& bootstrap, const std::string& output, int64_t expected) {
  KafkaClientConfig config{bootstrap, {}};
  auto consumer = CreateConsumer(config, "bench-raw");
  auto producer = CreateProducer(config, nullptr, nullptr);
  if (!consumer.ok() || !producer.ok()) std::exit(1);
  const auto start = Clock::now();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kInputPartitions);
  for (int p = 0; p < kInputPartitions; ++p) {
    rd_kafka_topic_partition_list_add(list, "bench-in", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer->get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer->get());
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer->get(), output.c_str(), nullptr);
  std::vector<rd_kafka_message_t*> messages(8192);
  int64_t consumed = 0;
  while (consumed < expected) {
    const ssize_t count =
        rd_kafka_consume_batch_queue(queue, 100, messages.data(), messages.size());
    for (ssize_t i = 0; i < count; ++i) {
      rd_kafka_message_t* message = messages[i];
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        while (rd_kafka_produce(topic, message->partition % kOutputPartitions, RD_KAFKA_MSG_F_COPY,
                                message->payload, message->len, message->key, message->key_len,
                                nullptr) != 0) {
          rd_kafka_poll(producer->get(), 10);
        }
        ++consumed;
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_poll(producer->get(), 0);
  }
  rd_kafka_flush(producer->get(), 60000);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_topic_destroy(topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer->get());
  return seconds;
}

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
         "    format: " + format + "\n" + (format == "json" ? kYsbSchema : "");
}

std::string SinkYaml(const std::string& topic, const std::string& format) {
  return "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " + topic + " }\n"
         "    format: " + format + "\n"
         "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
         // Each job its own state, so none resumes another's progress.
         "state: { dir: /tmp/eddy-bench-state/" + topic + " }\n";
}

struct Variant {
  std::string name;
  std::string yaml;  // without the output topic's sink, added per round
  std::string format;
};

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  int64_t events = 1000000;
  int rounds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) events = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) return 1;
  const std::string bootstrap = (*broker)->bootstrap();
  if (!(*broker)->CreateTopic("bench-in", kInputPartitions).ok()) return 1;

  int64_t generated = 0;
  const std::string generator =
      "name: bench-fill\n"
      "sources:\n"
      "  - name: ads\n"
      "    generator: { kind: ysb, count: " + std::to_string(events) + ", seed: 7, partitions: " +
      std::to_string(kInputPartitions) + " }\n" +
      // The mock broker returns one producer batch per partition per fetch
      // (shared/KAFKA-NOTES.md): fill the input in large batches so that the
      // measured loops are not bound by tiny fetches.
      "sinks:\n"
      "  - name: out\n"
      "    kafka:\n"
      "      topic: bench-in\n"
      "      properties: { linger.ms: \"500\", batch.size: \"4000000\", batch.num.messages: \"100000\" }\n"
      "    format: json\n"
      "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
      "state: { dir: /tmp/eddy-bench-state/fill }\n";
  const double fill_seconds = RunJobText(generator, bootstrap, &generated);
  std::printf("filled bench-in with %lld YSB events in %.2fs\n", static_cast<long long>(generated),
              fill_seconds);

  const std::vector<Variant> variants = {
      {"passthrough (raw bytes)", "name: bench-pass-raw\n" + SourceYaml("raw"), "raw"},
      {"passthrough (json decode+encode)", "name: bench-pass-json\n" + SourceYaml("json"), "json"},
      {"filter+select (json)",
       "name: bench-filter-select\n" + SourceYaml("json") +
           "operators:\n"
           "  - name: views\n"
           "    filter: event_type = 'view'\n"
           "  - name: shaped\n"
           "    select: [ad_id, event_time, upper(ad_type) AS ad_type]\n",
       "json"},
  };

  std::vector<double> raw_rates;
  std::vector<std::vector<double>> variant_rates(variants.size());
  int topic_counter = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string raw_topic = "out-" + std::to_string(topic_counter++);
    (*broker)->CreateTopic(raw_topic, kOutputPartitions).IgnoreError();
    raw_rates.push_back(static_cast<double>(generated) / RawLoop(bootstrap, raw_topic, generated));
    for (size_t v = 0; v < variants.size(); ++v) {
      const std::string topic = "out-" + std::to_string(topic_counter++);
      (*broker)->CreateTopic(topic, kOutputPartitions).IgnoreError();
      int64_t records_in = 0;
      const double seconds =
          RunJobText(variants[v].yaml + SinkYaml(topic, variants[v].format), bootstrap, &records_in);
      if (records_in != generated) {
        std::fprintf(stderr, "%s read %lld of %lld events\n", variants[v].name.c_str(),
                     static_cast<long long>(records_in), static_cast<long long>(generated));
        return 1;
      }
      variant_rates[v].push_back(static_cast<double>(records_in) / seconds);
    }
  }
  auto best = [](const std::vector<double>& rates) { return *std::max_element(rates.begin(), rates.end()); };
  const double raw = best(raw_rates);
  std::printf("\n%-36s %14s %10s\n", "Kafka -> Kafka, 1 broker, 2 cores", "events/s", "vs raw");
  std::printf("%-36s %14.0f %9.0f%%\n", "raw librdkafka consume->produce", raw, 100.0);
  for (size_t v = 0; v < variants.size(); ++v) {
    const double rate = best(variant_rates[v]);
    std::printf("%-36s %14.0f %9.0f%%\n", variants[v].name.c_str(), rate, 100.0 * rate / raw);
  }
  std::printf("(best of %d rounds, %lld events each)\n", rounds, static_cast<long long>(generated));
  return 0;
}
