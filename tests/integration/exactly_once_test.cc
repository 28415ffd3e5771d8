// Exactly-once delivery under faults (docs/exactly-once.md): a Kafka-in,
// Kafka-out job with a filter, a lookup join against a table topic, a
// prequential model, an event-time window and a Kafka dead-letter topic runs
// as a subprocess (`eddy run --once`, the code users run) while the test
// kills it, stops it, breaks the broker under it or fills its disk. Every
// output topic, dead letters included, must then hold exactly what an
// uninterrupted run of the same job wrote to its own topics: the same
// records (key, value, partition) in each partition's order, none lost,
// none twice; and the model must export identically.
//
// The broker is librdkafka's mock cluster in this process; it does not
// deduplicate an idempotent producer's retry after a lost acknowledgement
// (../shared/KAFKA-NOTES.md), so a duplicate that carries identical eddy.*
// headers in adjacent offsets after a dropped connection would be the
// mock's, not Eddy's: the failure message prints the headers to tell.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using testing::TestRecord;

// Kafka protocol request types (ApiKey) for fault injection.
constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;

constexpr int kInputPartitions = 3;
constexpr int kUsers = 40;
// The progress line of every batch, and only of batches, has " lag=".
constexpr char kBatchLine[] = " lag=";

// The input: JSON events over three partitions, event time growing by ~25 ms
// per record with up to 200 ms of disorder, and about one record in 50 not
// JSON at all (a dead letter). Deterministic for a seed.
std::vector<TestRecord> Events(int per_partition, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<TestRecord> records;
  for (int partition = 0; partition < kInputPartitions; ++partition) {
    for (int idx = 0; idx < per_partition; ++idx) {
      const int64_t id = partition * 1000000LL + idx;
      if (random() % 50 == 0) {
        records.push_back({partition, std::nullopt, "{\"id\":" + std::to_string(id) + ", broken"});
        continue;
      }
      const int user = static_cast<int>(random() % kUsers);
      const int64_t t = 1767225600000LL + idx * 25LL + static_cast<int64_t>(random() % 200);
      const int x0 = static_cast<int>(random() % 1000);
      const int x1 = static_cast<int>(random() % 1000);
      const int amount = static_cast<int>(random() % 100);
      // A concept the tree can learn, with 5 % label noise.
      int label = x0 + 2 * (user % 3) * 100 > x1 ? 1 : 0;
      if (random() % 20 == 0) label = 1 - label;
      char value[256];
      std::snprintf(
          value, sizeof(value),
          R"({"id":%lld,"user":"u%d","t":%lld,"x0":%d.%03d,"x1":%d.%03d,"amount":%d,"label":%d})",
          static_cast<long long>(id), user, static_cast<long long>(t), x0 / 1000, x0 % 1000,
          x1 / 1000, x1 % 1000, amount, label);
      records.push_back({partition, std::nullopt, value});
    }
  }
  return records;
}

// The users table: every user's segment, then a second row for some users
// that replaces the first (the table is kept current).
std::vector<TestRecord> Users() {
  static const char* const kSegments[] = {"gold", "silver", "bronze"};
  std::vector<TestRecord> records;
  for (int user = 0; user < kUsers; ++user) {
    records.push_back({0, std::nullopt,
                       std::string(R"({"user":"u)") + std::to_string(user) + R"(","segment":")" +
                           kSegments[user % 3] + "\"}"});
  }
  for (int user = 0; user < kUsers; user += 7) {
    records.push_back({0, std::nullopt,
                       std::string(R"({"user":"u)") + std::to_string(user) + R"(","segment":")" +
                           kSegments[(user + 1) % 3] + "\"}"});
  }
  return records;
}

struct JobOptions {
  int max_records_per_partition = 40;
  int checkpoint_every_batches = 3;
  // librdkafka properties for the job's producers (sinks and dead letters).
  std::string producer_properties;
};

// The job; `name` is the job's name and the prefix of its three output
// topics, so two jobs never share an output topic.
std::string Job(const std::string& bootstrap, const std::string& name, const std::string& state,
                const JobOptions& options = {}) {
  const std::string producer_properties =
      options.producer_properties.empty() ? ""
                                          : ", properties: {" + options.producer_properties + "}";
  return "name: " + name +
         "\n"
         "kafka: { brokers: \"" +
         bootstrap +
         "\" }\n"
         "sources:\n"
         "  - name: events\n"
         "    kafka: { topics: [events], start: earliest }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: id, type: int64 }\n"
         "      - { name: user, type: string }\n"
         "      - { name: t, type: timestamp }\n"
         "      - { name: x0, type: double }\n"
         "      - { name: x1, type: double }\n"
         "      - { name: amount, type: int64 }\n"
         "      - { name: label, type: int64 }\n"
         "    event_time: { column: t, max_out_of_orderness: 300ms }\n"
         "  - name: users\n"
         "    kafka: { topics: [users], start: earliest }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: user, type: string }\n"
         "      - { name: segment, type: string }\n"
         "operators:\n"
         "  - name: valid\n"
         "    inputs: [events]\n"
         "    filter: amount >= 5\n"
         "  - name: enriched\n"
         "    inputs: [valid, users]\n"
         "    lookup_join: { key: user, table_key: user, columns: [segment], join_type: inner }\n"
         "  - name: tree\n"
         "    inputs: [enriched]\n"
         "    prequential:\n"
         "      model: hoeffding_tree\n"
         "      features: [x0, x1, amount, segment]\n"
         "      label: label\n"
         "      options: { grace_period: \"50\" }\n"
         "  - name: predictions\n"
         "    inputs: [tree]\n"
         "    select: [id, user, segment, label, prediction, probability, model_version]\n"
         "  - name: per_segment\n"
         "    inputs: [tree]\n"
         "    window:\n"
         "      key: [segment]\n"
         "      type: tumbling\n"
         "      size: 1s\n"
         "      aggregates: [\"count(*) AS n\", \"sum(amount) AS total\", \"avg(probability) AS "
         "mean_p\"]\n"
         "sinks:\n"
         "  - name: scored\n"
         "    input: predictions\n"
         "    kafka: { topic: " +
         name + "-predictions, key: id" + producer_properties +
         " }\n"
         "    format: json\n"
         "  - name: windows\n"
         "    input: per_segment\n"
         "    kafka: { topic: " +
         name + "-windows, key: segment" + producer_properties +
         " }\n"
         "    format: json\n"
         "dead_letter: { kafka: { topic: " +
         name + "-dead" + producer_properties +
         " } }\n"
         "trigger: { interval: 1ms, max_records_per_partition: " +
         std::to_string(options.max_records_per_partition) +
         " }\n"
         "state: { dir: " +
         state +
         " }\n"
         "checkpoint: { every_batches: " +
         std::to_string(options.checkpoint_every_batches) + " }\n";
}

const char* const kOutputs[] = {"-predictions", "-windows", "-dead"};

std::string Headers(const TestRecord& record) {
  std::string text;
  for (const auto& [name, value] : record.headers) {
    if (name != "eddy.job" && name != "eddy.run") {
      text += " " + name + "=" + value;
    }
  }
  return text;
}

std::string Describe(const TestRecord& record) {
  return "p" + std::to_string(record.partition) + "@" + std::to_string(record.offset) +
         Headers(record) + " key=" + record.key.value_or("(null)") + " value=" + record.value;
}

// A record's headers but eddy.job and eddy.run, which name the job.
std::map<std::string, std::string> JobIndependentHeaders(const TestRecord& record) {
  std::map<std::string, std::string> headers = record.headers;
  headers.erase("eddy.job");
  headers.erase("eddy.run");
  return headers;
}

// Empty when `actual` equals `expected` — the same records (partition, key,
// value) in the same order, with the same headers but the job's name and
// run (so the same batch, sequence number and task wrote each, and dead
// letters carry the same reason and origin); else where they part, the
// records around it with their eddy.* headers, and every record of
// `actual` that occurs twice (by partition and value).
std::string Difference(const std::vector<TestRecord>& expected,
                       const std::vector<TestRecord>& actual) {
  if (actual == expected) {
    for (size_t idx = 0; idx < actual.size(); ++idx) {
      if (JobIndependentHeaders(actual[idx]) != JobIndependentHeaders(expected[idx])) {
        return "record " + std::to_string(idx) + " has other headers:\n  expected " +
               Describe(expected[idx]) + "\n  actual   " + Describe(actual[idx]) + "\n";
      }
    }
    return {};
  }
  std::ostringstream out;
  out << "expected " << expected.size() << " records, got " << actual.size() << "\n";
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
  out << "first difference at record " << at << ":\n";
  for (size_t idx = at > 2 ? at - 2 : 0; idx < at + 3; ++idx) {
    if (idx < expected.size()) out << "  expected " << Describe(expected[idx]) << "\n";
    if (idx < actual.size()) out << "  actual   " << Describe(actual[idx]) << "\n";
  }
  std::map<std::pair<int32_t, std::string>, std::vector<const TestRecord*>> seen;
  for (const TestRecord& record : actual) seen[{record.partition, record.value}].push_back(&record);
  int shown = 0;
  for (const auto& [where, copies] : seen) {
    if (copies.size() < 2 || shown++ >= 10) continue;
    out << "  duplicated:";
    for (const TestRecord* copy : copies) out << "\n    " << Describe(*copy);
    out << "\n";
  }
  std::multiset<std::pair<int32_t, std::string>> wanted;
  for (const TestRecord& record : expected) wanted.insert({record.partition, record.value});
  for (const TestRecord& record : actual) {
    auto found = wanted.find({record.partition, record.value});
    if (found != wanted.end()) wanted.erase(found);
  }
  out << "  " << wanted.size() << " expected records missing";
  if (!wanted.empty()) out << ", e.g. p" << wanted.begin()->first << " " << wanted.begin()->second;
  out << "\n";
  return out.str();
}

// How many replayed batches found some of their own records already in an
// output partition: the log line of a replay of batch N ("batch N ...
// running it again over the same offsets") followed, before the next batch
// line, by a sink's recovery line naming "batch N seq".
int ReplaysOfPartlyWrittenBatches(const std::string& log) {
  static const std::regex kReplay(R"(batch (\d+) .*running it again over the same offsets)");
  std::istringstream lines(log);
  std::string line;
  std::string replayed;  // ": batch N seq" while in a replay's recovery
  int count = 0;
  bool counted = false;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_search(line, match, kReplay)) {
      replayed = ": batch " + match[1].str() + " seq";
      counted = false;
    } else if (line.find(kBatchLine) != std::string::npos ||
               line.find("resuming after") != std::string::npos) {
      replayed.clear();
    } else if (!replayed.empty() && !counted && line.find("sink '") != std::string::npos &&
               line.find(replayed) != std::string::npos) {
      ++count;
      counted = true;
    }
  }
  return count;
}

// A broker, the input topics, and runs of the job in subprocesses.
class ExactlyOnce : public ::testing::Test {
 protected:
  void Start(int brokers, int per_partition) {
    EmbeddedBrokerOptions options;
    options.brokers = brokers;
    auto broker = EmbeddedBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    ASSERT_TRUE(broker_->CreateTopic("events", kInputPartitions).ok());
    ASSERT_TRUE(broker_->CreateTopic("users", 1).ok());
    dir_ = testing::MakeTempDir("eddy-exactly-once");
    testing::ProduceRecords(broker_->bootstrap(), "users", Users());
    const auto events = Events(per_partition, 20261126);
    testing::ProduceRecords(broker_->bootstrap(), "events", events);
    for (const TestRecord& record : events) malformed_ += record.value.back() == 'n' ? 1 : 0;
  }

  // Writes the job `name` (its own topics and state) and returns its file.
  std::string WriteJob(const std::string& name, const JobOptions& options = {}) {
    EXPECT_TRUE(broker_->CreateTopic(name + "-predictions", 3).ok());
    EXPECT_TRUE(broker_->CreateTopic(name + "-windows", 2).ok());
    EXPECT_TRUE(broker_->CreateTopic(name + "-dead", 2).ok());
    const std::string file = dir_ + "/" + name + ".yaml";
    testing::WriteFile(file,
                       Job(broker_->bootstrap(), name, dir_ + "/" + name + "-state", options));
    return file;
  }

  std::string Log(const std::string& name) const { return dir_ + "/" + name + ".log"; }

  int Spawn(const std::string& name) {
    return testing::SpawnEddy(
        {"run", "--once", "--metrics-address", "off", dir_ + "/" + name + ".yaml"}, Log(name));
  }

  // Runs job `name` to the end; its exit code.
  int RunToEnd(const std::string& name) { return testing::WaitForExit(Spawn(name)); }

  // The uninterrupted run every faulted run is compared with.
  void RunReference(const JobOptions& options = {}) {
    WriteJob("reference", options);
    ASSERT_EQ(RunToEnd("reference"), 0) << testing::ReadFile(Log("reference"));
    for (const char* output : kOutputs) {
      reference_[output] = Consume(std::string("reference") + output);
    }
    // The reference itself is complete: every malformed record is one dead
    // letter, and windows and predictions were written.
    EXPECT_EQ(reference_["-dead"].size(), static_cast<size_t>(malformed_));
    EXPECT_GT(malformed_, 10);
    EXPECT_GT(reference_["-predictions"].size(), 1000u);
    EXPECT_GT(reference_["-windows"].size(), 20u);
  }

  // Every output topic of job `name` equals the reference's, and so does
  // its model.
  void ExpectSameAsReference(const std::string& name) {
    for (const char* output : kOutputs) {
      const auto actual = Consume(name + output);
      EXPECT_EQ(Difference(reference_[output], actual), "") << "topic " << name << output;
    }
    const auto reference_model =
        testing::RunEddy("model export " + dir_ + "/reference.yaml tree 2>/dev/null");
    const auto model =
        testing::RunEddy("model export " + dir_ + "/" + name + ".yaml tree 2>/dev/null");
    ASSERT_EQ(reference_model.exit_code, 0) << reference_model.output;
    ASSERT_EQ(model.exit_code, 0) << model.output;
    EXPECT_NE(reference_model.output.find("\"version\":"), std::string::npos)
        << reference_model.output;
    EXPECT_EQ(model.output, reference_model.output);
  }

  // Waits until job `name` has logged `batches` more batch lines than
  // `before` (false if it exited or stalled first).
  bool WaitForBatches(const std::string& name, int before, int batches) {
    return testing::WaitForLogCount(Log(name), kBatchLine, before + batches, 30000);
  }

  rd_kafka_mock_cluster_s* cluster() { return broker_->cluster(); }

  // ConsumeAll, tried again when a request error injected for the job and
  // not met by it meets the reader instead.
  std::vector<TestRecord> Consume(const std::string& topic) {
    for (int attempt = 1;; ++attempt) {
      try {
        return testing::ConsumeAll(broker_->bootstrap(), topic);
      } catch (const std::exception& error) {
        if (attempt == 5) throw;
      }
    }
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
  int malformed_ = 0;
  std::map<std::string, std::vector<TestRecord>> reference_;
};

// SIGKILL at 20 random instants (seeded): after k more batch lines (k in
// 1..3) plus a random delay of up to one batch, or (k = 0) up to 1.2 s
// after the start, so kills land while the job opens its state and reads
// its output partitions' tails, fetches, processes, produces, commits and
// checkpoints, and while it replays a batch. Each time it restarts; the
// last run goes to the end.
TEST_F(ExactlyOnce, TwentyKillsAtRandomInstantsLeaveExactlyTheUninterruptedOutput) {
  // 90 batches: more than 20 kills can get through (at most 3 batches and
  // a bit each, or the start and a few batches for a kill after no batch).
  ASSERT_NO_FATAL_FAILURE(Start(1, 3600));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("crashed");
  const std::string log = Log("crashed");
  // EDDY_TORTURE_SEED replays another schedule of kills (to hunt with).
  const char* seed = std::getenv("EDDY_TORTURE_SEED");
  std::mt19937 random(seed != nullptr ? static_cast<uint32_t>(std::stoul(seed)) : 4242);
  std::uniform_int_distribution<int> batches(0, 3);
  // Within one batch; or, when no batch is awaited, anywhere in the start
  // (opening the state, reading the output partitions' tails) and the
  // first batch.
  std::uniform_int_distribution<int> delay_micros(0, 30000);
  std::uniform_int_distribution<int> start_delay_micros(0, 1200000);
  int kills = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int before = testing::CountInFile(log, kBatchLine);
    const int pid = Spawn("crashed");
    const int wait_batches = batches(random);
    const int delay = wait_batches == 0 ? start_delay_micros(random) : delay_micros(random);
    WaitForBatches("crashed", before, wait_batches);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    ::kill(pid, SIGKILL);
    const int code = testing::WaitForExit(pid);
    ASSERT_TRUE(code == 128 + SIGKILL)
        << "attempt " << attempt << " ended on its own with " << code << " before the kill:\n"
        << testing::ReadFile(log);
    ++kills;
  }
  EXPECT_EQ(kills, 20);
  ASSERT_EQ(RunToEnd("crashed"), 0) << testing::ReadFile(log);
  const int resumed = testing::CountInFile(log, "resuming after batch");
  const int replayed = testing::CountInFile(log, "running it again over the same offsets");
  const int partly_written = ReplaysOfPartlyWrittenBatches(testing::ReadFile(log));
  std::printf(
      "20 kills: %d restarts resumed committed state, %d replayed a logged batch (%d of them found "
      "part of that batch's output already in a topic), %d batch lines in all\n",
      resumed, replayed, partly_written, testing::CountInFile(log, kBatchLine));
  EXPECT_GE(resumed, 10);
  EXPECT_GE(replayed, 3);
  // The skipping of records already written was exercised.
  EXPECT_GE(partly_written, 1);
  ExpectSameAsReference("crashed");
}

// Retriable errors answered to the job's Produce and Fetch requests on
// every broker, and metadata that reports no leader for the job's topics,
// mid-run: the clients retry, the batch goes on, nothing is lost or written
// twice. (librdkafka 2.0.2's mock ignores pushed Metadata request errors; a
// topic error in its Metadata responses is the metadata fault it offers.)
TEST_F(ExactlyOnce, RequestErrorsOnProduceFetchAndMetadataAreRetriedWithoutLossOrDuplicates) {
  ASSERT_NO_FATAL_FAILURE(Start(3, 1500));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("faulted");
  const std::vector<std::string> topics = {"events", "users", "faulted-predictions",
                                           "faulted-windows", "faulted-dead"};
  const int pid = Spawn("faulted");
  struct Wave {
    int16_t api;
    rd_kafka_resp_err_t error;
    bool metadata_without_leader;  // for the next 300 ms
  };
  const Wave waves[] = {
      {kProduce, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, false},
      {kFetch, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, false},
      {kProduce, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, false},
      // A NOT_LEADER answer makes the producer refresh its metadata, which
      // then names no leader for a while.
      {kProduce, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, true},
      {kFetch, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, false},
      {kProduce, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, false},
      // The broker drops the connection instead of answering.
      {kProduce, RD_KAFKA_RESP_ERR__TRANSPORT, false},
  };
  int batches = 0;
  for (const Wave& wave : waves) {
    batches += 4;
    ASSERT_TRUE(WaitForBatches("faulted", 0, batches)) << testing::ReadFile(Log("faulted"));
    if (wave.metadata_without_leader) {
      for (const std::string& topic : topics) {
        rd_kafka_mock_topic_set_error(cluster(), topic.c_str(),
                                      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
      }
    }
    for (int32_t broker = 1; broker <= 3; ++broker) {
      ASSERT_EQ(rd_kafka_mock_broker_push_request_error_rtts(cluster(), broker, wave.api, 2,
                                                             wave.error, 0, wave.error, 0),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    if (wave.metadata_without_leader) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      for (const std::string& topic : topics) {
        rd_kafka_mock_topic_set_error(cluster(), topic.c_str(), RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
  }
  ASSERT_EQ(testing::WaitForExit(pid), 0) << testing::ReadFile(Log("faulted"));
  // Which injected errors the job's requests actually met (a broker may
  // get no Fetch request while the consumer has the input prefetched).
  std::map<int16_t, size_t> left;
  for (int32_t broker = 1; broker <= 3; ++broker) {
    for (int16_t api : {kProduce, kFetch}) {
      size_t count = 0;
      rd_kafka_mock_broker_error_stack_cnt(cluster(), broker, api, &count);
      left[api] += count;
    }
  }
  std::printf("injected errors the job did not meet: produce %zu of 30, fetch %zu of 12\n",
              left[kProduce], left[kFetch]);
  EXPECT_LT(left[kProduce], 30u);
  EXPECT_LT(left[kFetch], 12u);
  ExpectSameAsReference("faulted");
}

// Broker 2 goes down for two seconds mid-run (the partitions it leads
// stall, the others go on), later brokers 2 and 3, which lead every input
// partition, go down for a second and a half. The output partitions are led
// by broker 1, which stays up: the mock does not deduplicate an idempotent
// producer's retry after a connection dropped mid-request (a Kafka broker
// does, by sequence number), so a produce cut by a broker going down would
// store the same records twice at the broker, whatever Eddy does. Produce
// errors are covered by RequestErrors... and BrokersThatStayDown...
TEST_F(ExactlyOnce, BrokersDownAndBackMidRunLeaveExactlyTheUninterruptedOutput) {
  // Enough input that the job is still running when the brokers go down.
  ASSERT_NO_FATAL_FAILURE(Start(3, 8000));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("faulted");
  const std::vector<std::pair<std::string, int>> outputs = {
      {"faulted-predictions", 3}, {"faulted-windows", 2}, {"faulted-dead", 2}};
  for (const auto& [topic, partitions] : outputs) {
    for (int32_t partition = 0; partition < partitions; ++partition) {
      ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster(), topic.c_str(), partition, 1),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  for (int32_t partition = 0; partition < kInputPartitions; ++partition) {
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster(), "events", partition, 2 + partition % 2),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster(), "users", 0, 2),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  const int pid = Spawn("faulted");
  ASSERT_TRUE(WaitForBatches("faulted", 0, 6)) << testing::ReadFile(Log("faulted"));
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster(), 2), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster(), 2), RD_KAFKA_RESP_ERR_NO_ERROR);
  // The second fault needs the job still running: on a fast (or unevenly
  // loaded) machine it may have finished while broker 2 was down, when the
  // partitions it leads were not the ones it still had to write.
  const int before = testing::CountInFile(Log("faulted"), kBatchLine);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool finished = false;
  while (testing::CountInFile(Log("faulted"), kBatchLine) < before + 6) {
    finished = testing::CountInFile(Log("faulted"), "finished batches=") > 0;
    if (finished) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << testing::ReadFile(Log("faulted"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!finished) {
    for (int32_t broker : {2, 3}) {
      ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster(), broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (int32_t broker : {2, 3}) {
      ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster(), broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  } else {
    std::printf(
        "the job finished while broker 2 was down; the second fault not applied this run\n");
  }
  ASSERT_EQ(testing::WaitForExit(pid), 0) << testing::ReadFile(Log("faulted"));
  ExpectSameAsReference("faulted");
}

// The leaders of every input and output partition move between the three
// brokers, three times, mid-run.
TEST_F(ExactlyOnce, PartitionLeadersMovedMidRunLeaveExactlyTheUninterruptedOutput) {
  ASSERT_NO_FATAL_FAILURE(Start(3, 1500));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("faulted");
  const std::vector<std::pair<std::string, int>> topics = {{"events", kInputPartitions},
                                                           {"users", 1},
                                                           {"faulted-predictions", 3},
                                                           {"faulted-windows", 2},
                                                           {"faulted-dead", 2}};
  const int pid = Spawn("faulted");
  for (int move = 1; move <= 3; ++move) {
    ASSERT_TRUE(WaitForBatches("faulted", 0, 8 * move)) << testing::ReadFile(Log("faulted"));
    for (const auto& [topic, partitions] : topics) {
      for (int32_t partition = 0; partition < partitions; ++partition) {
        ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster(), topic.c_str(), partition,
                                                     (partition + move) % 3 + 1),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
  }
  ASSERT_EQ(testing::WaitForExit(pid), 0) << testing::ReadFile(Log("faulted"));
  ExpectSameAsReference("faulted");
}

// Every broker goes down and stays down: the job must give up within a
// bounded time (message.timeout.ms for its producers, its sources' read
// timeout) with a clear error and a non-zero exit, not hang; once the
// brokers are back, a restart completes the output exactly.
TEST_F(ExactlyOnce, BrokersThatStayDownStopTheJobWithAnErrorAndARestartCompletesIt) {
  ASSERT_NO_FATAL_FAILURE(Start(3, 1500));
  JobOptions options;
  options.producer_properties = "message.timeout.ms: \"3000\"";
  ASSERT_NO_FATAL_FAILURE(RunReference(options));
  WriteJob("faulted", options);
  const int pid = Spawn("faulted");
  ASSERT_TRUE(WaitForBatches("faulted", 0, 10)) << testing::ReadFile(Log("faulted"));
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster(), -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto down_at = std::chrono::steady_clock::now();
  // The bound is the longest of the job's timeouts (the source's 30 s read
  // timeout) plus slack for a loaded machine; past it the job hangs.
  const std::optional<int> code = testing::ExitedWithin(pid, 45000);
  if (!code) {
    ::kill(pid, SIGKILL);
    testing::WaitForExit(pid);
  }
  ASSERT_TRUE(code.has_value()) << "the job did not give up within 45 s with every broker down:\n"
                                << testing::ReadFile(Log("faulted"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - down_at).count();
  const std::string log = testing::ReadFile(Log("faulted"));
  const size_t error_at = log.find("failed error=");
  std::printf("with every broker down the job exited with %d after %.1f s: %s\n", *code, seconds,
              error_at == std::string::npos
                  ? "(no error line)"
                  : log.substr(error_at, log.find('\n', error_at) - error_at).c_str());
  EXPECT_EQ(*code, 2);
  ASSERT_NE(error_at, std::string::npos) << log;

  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster(), -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(RunToEnd("faulted"), 0) << testing::ReadFile(Log("faulted"));
  EXPECT_GE(testing::CountInFile(Log("faulted"), "resuming after batch"), 1);
  ExpectSameAsReference("faulted");
}

// SIGTERM finishes the batch in flight, writes a checkpoint and exits 0; the
// restart resumes after that batch (nothing interrupted) and completes the
// output exactly.
TEST_F(ExactlyOnce, SigtermFinishesTheBatchAndARestartCompletesTheOutputExactly) {
  ASSERT_NO_FATAL_FAILURE(Start(1, 1500));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("stopped");
  const int pid = Spawn("stopped");
  ASSERT_TRUE(WaitForBatches("stopped", 0, 10)) << testing::ReadFile(Log("stopped"));
  ::kill(pid, SIGTERM);
  ASSERT_EQ(testing::WaitForExit(pid), 0) << testing::ReadFile(Log("stopped"));
  const std::string first = testing::ReadFile(Log("stopped"));
  EXPECT_NE(first.find("job=stopped finished batches="), std::string::npos) << first;
  const int stopped_after = testing::CountInFile(Log("stopped"), kBatchLine);
  ASSERT_EQ(RunToEnd("stopped"), 0) << testing::ReadFile(Log("stopped"));
  const std::string log = testing::ReadFile(Log("stopped"));
  EXPECT_NE(log.find("resuming after batch " + std::to_string(stopped_after)), std::string::npos)
      << log;
  EXPECT_EQ(log.find("running it again"), std::string::npos) << log;
  ExpectSameAsReference("stopped");
}

// A second SIGTERM leaves at once, in the middle of a batch (exit 130);
// the restart runs that batch again and completes the output exactly.
TEST_F(ExactlyOnce, ASecondSigtermLeavesAtOnceAndARestartCompletesTheOutputExactly) {
  ASSERT_NO_FATAL_FAILURE(Start(1, 1500));
  ASSERT_NO_FATAL_FAILURE(RunReference());
  WriteJob("stopped");
  const int pid = Spawn("stopped");
  ASSERT_TRUE(WaitForBatches("stopped", 0, 10)) << testing::ReadFile(Log("stopped"));
  // A signal sent while the last is still pending merges with it: repeat
  // until the job is gone.
  std::optional<int> code;
  for (int attempt = 0; attempt < 10000 && !code; ++attempt) {
    ::kill(pid, SIGTERM);
    code = testing::ExitedWithin(pid, 1);
  }
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 130) << testing::ReadFile(Log("stopped"));
  EXPECT_EQ(
      testing::CountInFile(Log("stopped"), "second signal: exiting without finishing the batch"),
      1);
  ASSERT_EQ(RunToEnd("stopped"), 0) << testing::ReadFile(Log("stopped"));
  EXPECT_GE(testing::CountInFile(Log("stopped"), "resuming after batch"), 1);
  ExpectSameAsReference("stopped");
}

// The state directory fills up: the job runs with RLIMIT_FSIZE, so once a
// file of its state (RocksDB's write-ahead log or a table file, the offsets
// log, a checkpoint) would outgrow `limit` its writes fail with EFBIG, as on
// a full disk. The job must stop with an error naming the failure and a
// non-zero exit; restarted without the limit it must resume and complete
// the output exactly.
class FullDisk : public ExactlyOnce {
 protected:
  // `must_fill`: some file is sure to reach the limit, so the job must stop
  // with the error; else it may also complete (exit 0) — but never crash.
  void Run(int64_t limit, int checkpoint_every_batches, bool must_fill) {
    ASSERT_NO_FATAL_FAILURE(Start(1, 1500));
    JobOptions options;
    options.checkpoint_every_batches = checkpoint_every_batches;
    ASSERT_NO_FATAL_FAILURE(RunReference(options));
    WriteJob("full", options);
    const int code = testing::WaitForExit(testing::SpawnEddyWithFileSizeLimit(
        {"run", "--once", "--metrics-address", "off", dir_ + "/full.yaml"}, Log("full"), limit));
    const std::string log = testing::ReadFile(Log("full"));
    const size_t error_at = log.find("failed error=");
    std::printf("with files limited to %lld bytes the job exited with %d after %d batches: %s\n",
                static_cast<long long>(limit), code, testing::CountInFile(Log("full"), kBatchLine),
                error_at == std::string::npos
                    ? "(no error line)"
                    : log.substr(error_at, log.find('\n', error_at) - error_at).c_str());
    if (must_fill || code != 0) {
      EXPECT_EQ(code, 2) << log;
      EXPECT_NE(error_at, std::string::npos) << log;
      if (error_at != std::string::npos) {
        EXPECT_NE(log.find("File too large", error_at), std::string::npos) << log;
      }
    }
    if (must_fill) {
      EXPECT_GE(testing::CountInFile(Log("full"), kBatchLine), 1)
          << "the limit should stop the job mid-run";
    }

    ASSERT_EQ(RunToEnd("full"), 0) << testing::ReadFile(Log("full"));
    ExpectSameAsReference("full");
  }
};

// Rare checkpoints: the write-ahead log grows past the limit between two
// memtable flushes (about 20 KB a batch, mostly the model), and a batch's
// commit fails.
TEST_F(FullDisk, AFullDiskMetByACommitStopsTheJobWithAnErrorAndARestartCompletesTheOutputExactly) {
  Run(256 * 1024, 1000, /*must_fill=*/true);
}

// Frequent checkpoints keep the write-ahead log under 100 KB; what grows
// past it is RocksDB's info log (LOG in the state's db directory: 60 KB of
// options at open, more at every flush and checkpoint), if the state
// writes one. Its filling up must not crash the job.
TEST_F(FullDisk, RocksDbsInfoLogFillingUpDoesNotCrashTheJob) {
  Run(100 * 1024, 3, /*must_fill=*/false);
}

}  // namespace
}  // namespace eddy
