// End-to-end tests over TCP: a broker started by the test, records produced
// by a separate producer, the eddy binary run as its own process with
// --once, and the output topics read back and compared exactly.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "connectors/kafka/embedded_broker.h"
#include "connectors/kafka/kafka_client.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using testing::ConsumeAll;
using testing::ProduceRecords;
using testing::RunEddy;
using testing::TestRecord;

class KafkaPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    dir_ = testing::MakeTempDir("eddy-it");
  }

  std::string WriteJob(const std::string& yaml) {
    const std::string path = dir_ + "/job.yaml";
    testing::WriteFile(path, yaml);
    return path;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
};

std::string JsonEvent(int id, double price, const std::string& kind) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), R"({"id": %d, "price": %g, "kind": "%s"})", id, price,
                kind.c_str());
  return buf;
}

// The job used by several tests: keep price > 10, reshape, key by id.
std::string FilterSelectJob(const std::string& bootstrap, int max_per_partition) {
  return "name: filter-select\n"
         "kafka:\n"
         "  brokers: " +
         bootstrap +
         "\n"
         "sources:\n"
         "  - name: in\n"
         "    kafka: { topics: [events] }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: id, type: int64 }\n"
         "      - { name: price, type: double }\n"
         "      - { name: kind, type: string }\n"
         "operators:\n"
         "  - name: expensive\n"
         "    filter: price > 10\n"
         "  - name: shaped\n"
         "    select: [id, upper(kind) AS kind, price * 2 AS double_price]\n"
         "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: results, key: \"CAST(id AS string)\" }\n"
         "    format: json\n"
         "dead_letter:\n"
         "  kafka: { topic: dlq }\n"
         "trigger: { interval: 10ms, max_records_per_partition: " +
         std::to_string(max_per_partition) +
         " }\n"
         "state: { dir: state }\n";
}

struct InputEvent {
  int32_t partition;
  int id;
  double price;
  std::string kind;
};

std::vector<InputEvent> SampleEvents() {
  std::vector<InputEvent> events;
  const char* kinds[] = {"view", "click", "purchase"};
  for (int id = 0; id < 45; ++id) {
    events.push_back({id % 3, id, 5.0 + (id * 7) % 13, kinds[id % 3]});
  }
  return events;
}

// What the job must write: per input partition, records in offset order,
// taken batch by batch (at most `max_per_partition` per partition per
// batch, partitions in order within a batch), each sent to the partition
// Kafka's murmur2 partitioner picks for its key.
std::vector<TestRecord> ExpectedResults(const std::vector<InputEvent>& events,
                                        int max_per_partition, int32_t output_partitions) {
  std::vector<std::vector<InputEvent>> by_partition(3);
  for (const InputEvent& event : events) by_partition[event.partition].push_back(event);
  std::vector<std::vector<TestRecord>> out(output_partitions);
  size_t batch = 0;
  bool more = true;
  while (more) {
    more = false;
    for (const auto& partition_events : by_partition) {
      const size_t begin = batch * max_per_partition;
      for (size_t idx = begin; idx < partition_events.size() && idx < begin + max_per_partition;
           ++idx) {
        const InputEvent& event = partition_events[idx];
        if (!(event.price > 10)) continue;
        std::string kind = event.kind;
        for (char& c : kind) c = static_cast<char>(std::toupper(c));
        char value[160];
        std::snprintf(value, sizeof(value), R"({"id":%d,"kind":"%s","double_price":%g})", event.id,
                      kind.c_str(), event.price * 2);
        const std::string key = std::to_string(event.id);
        const int32_t partition = Murmur2Partition(key, output_partitions);
        out[partition].push_back({partition, key, value});
      }
      if (partition_events.size() > (batch + 1) * max_per_partition) more = true;
    }
    ++batch;
  }
  std::vector<TestRecord> all;
  for (auto& records : out) all.insert(all.end(), records.begin(), records.end());
  return all;
}

void ProduceEvents(const std::string& bootstrap, const std::vector<InputEvent>& events) {
  std::vector<TestRecord> records;
  for (const InputEvent& event : events) {
    records.push_back(
        {event.partition, std::nullopt, JsonEvent(event.id, event.price, event.kind)});
  }
  ProduceRecords(bootstrap, "events", records);
}

TEST_F(KafkaPipelineTest, OnceRunWritesExactlyTheExpectedRecordsInPartitionOrder) {
  ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
  ASSERT_TRUE(broker_->CreateTopic("results", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dlq", 1).ok());
  const auto events = SampleEvents();
  ProduceEvents(broker_->bootstrap(), events);

  const auto result =
      RunEddy("run --once " + WriteJob(FilterSelectJob(broker_->bootstrap(), 1000)));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const std::vector<TestRecord> expected = ExpectedResults(events, 1000, 2);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(ConsumeAll(broker_->bootstrap(), "results"), expected);
  EXPECT_TRUE(ConsumeAll(broker_->bootstrap(), "dlq").empty());
}

TEST_F(KafkaPipelineTest, SmallBatchesGiveTheSameRecordsInBatchOrder) {
  ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
  ASSERT_TRUE(broker_->CreateTopic("results", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dlq", 1).ok());
  const auto events = SampleEvents();
  ProduceEvents(broker_->bootstrap(), events);

  const auto result = RunEddy("run --once " + WriteJob(FilterSelectJob(broker_->bootstrap(), 4)));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // 15 records per partition, 4 per batch: batches 1 to 4.
  EXPECT_NE(result.output.find("batch=4 "), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("batch=5 "), std::string::npos) << result.output;
  EXPECT_EQ(ConsumeAll(broker_->bootstrap(), "results"), ExpectedResults(events, 4, 2));
}

TEST_F(KafkaPipelineTest, ReplayingTheSameOffsetsGivesTheSameOutput) {
  ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
  ASSERT_TRUE(broker_->CreateTopic("results", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dlq", 1).ok());
  ProduceEvents(broker_->bootstrap(), SampleEvents());
  const std::string job = WriteJob(FilterSelectJob(broker_->bootstrap(), 7));
  ASSERT_EQ(RunEddy("run --once --threads 4 " + job).exit_code, 0);
  const auto first = ConsumeAll(broker_->bootstrap(), "results");
  // A second run from an empty state directory starts again from the
  // earliest offsets: the output must repeat exactly, whatever the thread
  // timing.
  std::filesystem::remove_all(dir_ + "/state");
  ASSERT_EQ(RunEddy("run --once --threads 1 " + job).exit_code, 0);
  const auto both = ConsumeAll(broker_->bootstrap(), "results");
  ASSERT_EQ(both.size(), first.size() * 2);
  std::vector<TestRecord> expected_twice;
  for (int32_t partition = 0; partition < 2; ++partition) {
    for (int round = 0; round < 2; ++round) {
      for (const TestRecord& record : first) {
        if (record.partition == partition) expected_twice.push_back(record);
      }
    }
  }
  EXPECT_EQ(both, expected_twice);
}

TEST_F(KafkaPipelineTest, MalformedRecordsLandInTheDeadLetterTopicWithTheirReasons) {
  ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
  ASSERT_TRUE(broker_->CreateTopic("results", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dlq", 1).ok());
  ProduceRecords(broker_->bootstrap(), "events",
                 {{0, std::nullopt, JsonEvent(1, 20, "view")},
                  {0, std::string("k1"), "not json at all"},
                  {1, std::nullopt, R"({"id": 2, "kind": "view"})"},
                  {1, std::nullopt, R"({"id": 3, "price": "cheap", "kind": "view"})"},
                  {2, std::nullopt, JsonEvent(4, 30, "click")}});

  const auto result =
      RunEddy("run --once " + WriteJob(FilterSelectJob(broker_->bootstrap(), 1000)));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const auto results = ConsumeAll(broker_->bootstrap(), "results");
  ASSERT_EQ(results.size(), 2u);
  const auto dead = ConsumeAll(broker_->bootstrap(), "dlq");
  ASSERT_EQ(dead.size(), 3u);
  // Task order: partition 0, then 1; within a partition, offset order.
  EXPECT_EQ(dead[0].value, "not json at all");
  EXPECT_EQ(dead[0].key, std::optional<std::string>("k1"));
  EXPECT_EQ(dead[0].headers.at("eddy.error.topic"), "events");
  EXPECT_EQ(dead[0].headers.at("eddy.error.partition"), "0");
  EXPECT_EQ(dead[0].headers.at("eddy.error.offset"), "1");
  EXPECT_EQ(dead[0].headers.at("eddy.error.node"), "in");
  EXPECT_FALSE(dead[0].headers.at("eddy.error.reason").empty());

  EXPECT_EQ(dead[1].value, R"({"id": 2, "kind": "view"})");
  EXPECT_EQ(dead[1].headers.at("eddy.error.partition"), "1");
  EXPECT_EQ(dead[1].headers.at("eddy.error.offset"), "0");
  EXPECT_NE(dead[1].headers.at("eddy.error.reason").find("price"), std::string::npos)
      << dead[1].headers.at("eddy.error.reason");

  EXPECT_EQ(dead[2].headers.at("eddy.error.offset"), "1");
  EXPECT_NE(dead[2].headers.at("eddy.error.reason").find("price"), std::string::npos)
      << dead[2].headers.at("eddy.error.reason");
}

TEST_F(KafkaPipelineTest, KcatRoundTrip) {
  ASSERT_TRUE(broker_->CreateTopic("events", 3).ok());
  ASSERT_TRUE(broker_->CreateTopic("results", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dlq", 1).ok());
  const std::string input = dir_ + "/input.jsonl";
  testing::WriteFile(input, JsonEvent(7, 11.5, "view") + "\n" + JsonEvent(8, 3, "view") + "\n" +
                                JsonEvent(9, 99, "click") + "\n");
  const auto produce =
      testing::RunShell("kcat -b " + broker_->bootstrap() + " -P -t events -p 1 -l " + input);
  ASSERT_EQ(produce.exit_code, 0) << produce.output;

  const auto result =
      RunEddy("run --once " + WriteJob(FilterSelectJob(broker_->bootstrap(), 1000)));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const auto consumed = testing::RunShell("kcat -b " + broker_->bootstrap() +
                                          " -C -t results -o beginning -e -q -f '%p|%k|%s\\n'");
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  // kcat reads partitions concurrently, so compare as a sorted set of lines.
  std::vector<std::string> lines;
  size_t start = 0, end;
  while ((end = consumed.output.find('\n', start)) != std::string::npos) {
    lines.push_back(consumed.output.substr(start, end - start));
    start = end + 1;
  }
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> expected = {
      std::to_string(Murmur2Partition("7", 2)) + R"(|7|{"id":7,"kind":"VIEW","double_price":23})",
      std::to_string(Murmur2Partition("9", 2)) +
          R"(|9|{"id":9,"kind":"CLICK","double_price":198})"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);
}

TEST_F(KafkaPipelineTest, UnreachableBrokerFailsWithAClearErrorInBoundedTime) {
  const auto started = std::chrono::steady_clock::now();
  const auto result = RunEddy("run --once " + WriteJob(FilterSelectJob("127.0.0.1:1", 1000)));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("no answer from the brokers"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("127.0.0.1:1"), std::string::npos) << result.output;
  EXPECT_LT(elapsed, std::chrono::seconds(60));
}

}  // namespace
}  // namespace eddy
