#include "tests/bench/bench_util.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <sstream>

#include "connectors/kafka/kafka_client.h"

namespace eddy::bench {

namespace {

std::mutex& ChildrenMutex() {
  static std::mutex mutex;
  return mutex;
}

std::set<pid_t>& Children() {
  static std::set<pid_t> children;
  return children;
}

}  // namespace

void Adopt(pid_t pid) {
  std::lock_guard<std::mutex> lock(ChildrenMutex());
  Children().insert(pid);
}

void Disown(pid_t pid) {
  std::lock_guard<std::mutex> lock(ChildrenMutex());
  Children().erase(pid);
}

void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  {
    std::lock_guard<std::mutex> lock(ChildrenMutex());
    for (pid_t pid : Children()) kill(pid, SIGKILL);
  }
  std::exit(1);
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ConnectorContext BrokerContext(const std::string& bootstrap) {
  ConnectorContext context;
  context.resolve_brokers = [bootstrap](const std::string&, const std::string&, int) {
    return Result<std::string>(bootstrap);
  };
  return context;
}

std::unique_ptr<JobPlan> PlanOrDie(const std::string& yaml, const std::string& bootstrap) {
  auto job = LoadJobText(yaml, "bench.yaml");
  if (!job.ok()) Die(job.status().ToString() + "\n" + yaml);
  auto plan = PlanJob(std::move(job).value(), BrokerContext(bootstrap));
  if (!plan.ok()) Die(plan.status().ToString() + "\n" + yaml);
  return std::move(plan).value();
}

RunSummary RunOrDie(JobPlan& plan, const ExecutorOptions& options) {
  auto summary = RunJob(plan, options);
  if (!summary.ok()) Die(plan.job.spec.name() + ": " + summary.status().ToString());
  return *summary;
}

double RunJobText(const std::string& yaml, const std::string& bootstrap, int64_t* records_in,
                  RunTimes* times) {
  auto plan = PlanOrDie(yaml, bootstrap);
  ExecutorOptions options;
  options.once = true;
  const bool verbose = std::getenv("EDDY_BENCH_VERBOSE") != nullptr;
  RunTimes measured;
  const auto start = Clock::now();
  options.on_open = [&](int64_t) {
    measured.open_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  };
  options.on_batch = [&](const BatchReport& report) {
    ++measured.batches;
    measured.batch_seconds += report.total_seconds;
    if (!verbose) return;
    std::fprintf(stderr,
                 "  batch %lld: in=%lld fetch=%.0fms process=%.0fms sink=%.0fms total=%.0fms\n",
                 static_cast<long long>(report.batch_id), static_cast<long long>(report.records_in),
                 report.fetch_seconds * 1e3, report.process_seconds * 1e3,
                 report.sink_seconds * 1e3, report.total_seconds * 1e3);
  };
  const RunSummary summary = RunOrDie(*plan, options);
  *records_in = summary.records_in;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  measured.other_seconds = seconds - measured.open_seconds - measured.batch_seconds;
  if (times != nullptr) *times = measured;
  return seconds;
}

double RawLoop(const std::string& bootstrap, const std::string& input, int input_partitions,
               const std::string& output, int output_partitions, int64_t expected) {
  KafkaClientConfig config{bootstrap, {}};
  auto consumer = CreateConsumer(config, "bench-raw");
  auto producer = CreateProducer(config, nullptr, nullptr);
  if (!consumer.ok() || !producer.ok()) Die("raw loop: no Kafka client");
  const auto start = Clock::now();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(input_partitions);
  for (int p = 0; p < input_partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, input.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer->get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer->get());
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer->get(), output.c_str(), nullptr);
  std::vector<rd_kafka_message_t*> messages(8192);
  int64_t consumed = 0;
  auto last_progress = Clock::now();
  while (consumed < expected) {
    const ssize_t count =
        rd_kafka_consume_batch_queue(queue, 100, messages.data(), messages.size());
    if (count > 0) {
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > std::chrono::seconds(30)) {
      // The mock broker drops what is past ~5 MiB per partition.
      Die("raw loop: read " + std::to_string(consumed) + " of " + std::to_string(expected) +
          " records of " + input + ", nothing more for 30 s");
    }
    for (ssize_t i = 0; i < count; ++i) {
      rd_kafka_message_t* message = messages[i];
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        while (rd_kafka_produce(topic, message->partition % output_partitions, RD_KAFKA_MSG_F_COPY,
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

double Best(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 0.5); }

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  return values[index];
}

uint64_t DirBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error)) total += it->file_size(error);
  }
  return total;
}

std::vector<int64_t> ParseList(const char* text) {
  std::vector<int64_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) values.push_back(std::atoll(item.c_str()));
  return values;
}

std::string FreshDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  return dir;
}

std::string GeneratorJobYaml(const GeneratorJobOptions& options) {
  const bool large_batches = options.rate <= 0;
  std::string yaml =
      "name: " + options.name +
      "\n"
      "sources:\n"
      "  - name: gen\n"
      "    generator:\n"
      "      kind: " +
      options.kind + "\n" +
      (options.count > 0 ? "      count: " + std::to_string(options.count) + "\n" : "") +
      "      rate: " + std::to_string(options.rate) + "\n" +
      "      seed: " + std::to_string(options.seed) + "\n" +
      "      partitions: " + std::to_string(options.partitions) + "\n" +
      (options.start_time.empty() ? "" : "      start_time: " + options.start_time + "\n") +
      "sinks:\n"
      "  - name: out\n"
      "    kafka:\n"
      "      topic: " +
      options.topic + "\n" +
      // No eddy.* headers (~150 bytes a record): they would
      // push a 1M-event input past the mock broker's ~5 MiB
      // per partition, and filling is not what is measured.
      "      delivery: at_least_once\n";
  yaml += large_batches ? "      properties: { linger.ms: \"500\", batch.size: \"4000000\", "
                          "batch.num.messages: \"100000\" }\n"
                        : "      properties: { linger.ms: \"5\" }\n";
  yaml += "    format: json\n";
  yaml += large_batches ? "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
                        : "trigger: { interval: 50ms, max_records_per_partition: 100000 }\n";
  yaml += "state: { dir: " + FreshDir(options.state_dir) + " }\n";
  return yaml;
}

std::string YsbJobYaml(const YsbJobOptions& options) {
  const std::string delivery = options.delivery.empty() ? "" : ", delivery: " + options.delivery;
  std::string yaml =
      "name: " + options.name +
      "\n"
      "sources:\n"
      "  - name: events\n"
      "    kafka: { topics: [" +
      options.input +
      "], properties: { fetch.wait.max.ms: \"10\" } }\n"
      "    format: json\n"
      "    schema:\n"
      "      - { name: user_id, type: string }\n"
      "      - { name: page_id, type: string }\n"
      "      - { name: ad_id, type: string }\n"
      "      - { name: ad_type, type: string }\n"
      "      - { name: event_type, type: string }\n"
      "      - { name: event_time, type: timestamp }\n"
      "      - { name: ip_address, type: string }\n"
      "    event_time: { column: event_time, max_out_of_orderness: 1s }\n"
      "  - name: campaigns\n"
      "    kafka: { topics: [ysb-campaigns], properties: { fetch.wait.max.ms: \"10\" } }\n"
      "    format: json\n"
      "    schema:\n"
      "      - { name: ad_id, type: string }\n"
      "      - { name: campaign_id, type: string }\n"
      "operators:\n"
      "  - name: views\n"
      "    inputs: [events]\n"
      "    filter: event_type = 'view'\n"
      "  - name: projected\n"
      "    select: [ad_id, event_time]\n"
      "  - name: with_campaign\n"
      "    inputs: [projected, campaigns]\n"
      "    lookup_join: { key: ad_id, table_key: ad_id, columns: [campaign_id] }\n"
      "  - name: per_campaign\n"
      "    window:\n"
      "      key: [campaign_id]\n"
      "      type: tumbling\n"
      "      size: 10s\n"
      "      aggregates: [\"count(*) AS views\"]\n"
      "sinks:\n"
      "  - name: counts\n"
      "    input: per_campaign\n"
      "    kafka: { topic: " +
      options.output + delivery +
      " }\n"
      "    format: json\n";
  if (!options.rows_output.empty()) {
    yaml +=
        "  - name: rows\n"
        "    input: projected\n"
        "    kafka: { topic: " +
        options.rows_output + delivery +
        " }\n"
        "    format: json\n";
  }
  yaml += "trigger: " + options.trigger + "\n" + "state: { dir: " + FreshDir(options.state_dir) +
          " }\n" + "checkpoint: { every_batches: " + std::to_string(options.checkpoint_every) +
          ", keep: 3 }\n";
  return yaml;
}

}  // namespace eddy::bench
