// The exactly-once Kafka writer's recovery against the embedded broker over
// TCP (connectors/kafka/kafka_writer.h, docs/exactly-once.md): a batch cut
// short and written again lands once in every partition, whatever other
// writers added after it; tails in the six-header format of earlier
// versions are read; the scan stops at the writer's recorded position. And
// the Kafka source's end offsets: every partition in one query, and the
// fetches' high watermarks without one.

#include "connectors/kafka/kafka_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "connectors/format/format.h"
#include "connectors/kafka/embedded_broker.h"
#include "connectors/kafka/kafka_source.h"
#include "connectors/kafka/record_header.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using testing::ConsumeAll;
using testing::ProduceRecords;
using testing::TestRecord;

constexpr int kPartitions = 4;
const OutputIdentity kIdentity{"writer-test", "0123456789abcdef"};

RecoveryStart NewRun() {
  RecoveryStart start;
  start.new_run = true;
  return start;
}

// A run that resumes: the writer stood at `position` before the batch to run.
RecoveryStart Resume(const std::string& position) {
  RecoveryStart start;
  start.position = position;
  return start;
}

class KafkaWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    ASSERT_TRUE(broker_->CreateTopic("out", kPartitions).ok());
  }

  std::unique_ptr<KafkaWriter> Open(const std::string& writer, const OutputIdentity& identity,
                                    const RecoveryStart& start) {
    auto opened = KafkaWriter::Open(KafkaClientConfig{broker_->bootstrap(), {}}, "out", writer,
                                    Delivery::kExactlyOnce);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return nullptr;
    Status recovered = (*opened)->Recover(identity, start);
    EXPECT_TRUE(recovered.ok()) << recovered.ToString();
    return std::move(opened).value();
  }

  // Writes records [from, to) of batch `batch`: record i goes to partition
  // i % kPartitions with value "b<batch>-<i>", from task i % 3.
  static void Write(KafkaWriter& writer, int64_t batch, int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::string value = "b" + std::to_string(batch) + "-" + std::to_string(i);
      ASSERT_TRUE(writer.Produce(i % kPartitions, value, std::nullopt, nullptr, batch, i % 3).ok());
    }
    ASSERT_TRUE(writer.Flush().ok());
  }

  // The values of `writer`'s records (by their fingerprint), per partition
  // in offset order, with the position each carries.
  std::map<int32_t, std::vector<std::string>> Written(const std::string& writer,
                                                      const OutputIdentity& identity) {
    const uint64_t fingerprint = WriterFingerprint(identity.job, identity.run, writer);
    std::map<int32_t, std::vector<std::string>> out;
    for (const TestRecord& record : ConsumeAll(broker_->bootstrap(), "out")) {
      auto header = record.headers.find(kOriginHeader);
      if (header == record.headers.end()) continue;
      const auto origin = DecodeOrigin(header->second);
      if (!origin || origin->writer != fingerprint) continue;
      EXPECT_EQ(record.headers.size(), 1u) << "one header a record";
      out[record.partition].push_back(record.value + " @" + std::to_string(origin->position.batch) +
                                      "/" + std::to_string(origin->position.seq) + "/" +
                                      std::to_string(origin->position.task));
    }
    return out;
  }

  // What an uninterrupted writer leaves in each partition after batches
  // [1, batches] of `per_batch` records each.
  static std::map<int32_t, std::vector<std::string>> Uninterrupted(int batches, int per_batch) {
    std::map<int32_t, std::vector<std::string>> out;
    for (int batch = 1; batch <= batches; ++batch) {
      std::vector<int64_t> seq(kPartitions, 0);
      for (int i = 0; i < per_batch; ++i) {
        const int partition = i % kPartitions;
        out[partition].push_back("b" + std::to_string(batch) + "-" + std::to_string(i) + " @" +
                                 std::to_string(batch) + "/" + std::to_string(seq[partition]++) +
                                 "/" + std::to_string(i % 3));
      }
    }
    return out;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
};

TEST_F(KafkaWriterTest, ABatchCutShortAndWrittenAgainLandsOnceBehindOtherWriters) {
  std::string before_batch_2;
  {
    auto writer = Open("sink", kIdentity, NewRun());
    ASSERT_NE(writer, nullptr);
    EXPECT_EQ(writer->Position(), "o1:0,0,0,0");
    Write(*writer, 1, 0, 40);
    before_batch_2 = writer->Position();
    EXPECT_EQ(before_batch_2, "o1:10,10,10,10");
    Write(*writer, 2, 0, 13);  // then the process dies
  }
  // Other writers of the topic, after it: another sink of the job, and the
  // same sink of another job. Their records are not this writer's.
  auto other_sink = Open("sink#1", kIdentity, NewRun());
  Write(*other_sink, 7, 0, 400);
  auto other_job = Open("sink", {"another-job", kIdentity.run}, NewRun());
  Write(*other_job, 9, 0, 8);

  auto again = Open("sink", kIdentity, Resume(before_batch_2));
  ASSERT_NE(again, nullptr);
  Write(*again, 2, 0, 40);
  Write(*again, 3, 0, 40);
  EXPECT_EQ(Written("sink", kIdentity), Uninterrupted(3, 40)) << "before: " << before_batch_2;
  EXPECT_EQ(Written("sink#1", kIdentity).at(0).size(), 100u);
}

TEST_F(KafkaWriterTest, ATailInTheSixHeaderFormatOfEarlierVersionsIsFound) {
  // Batch 1 and the first 6 records of batch 2 by an earlier Eddy; its
  // state recorded no position for the sink.
  std::vector<TestRecord> legacy;
  std::vector<int64_t> seq(kPartitions, 0);
  auto add = [&](int64_t batch, int i) {
    TestRecord record;
    record.partition = i % kPartitions;
    record.value = "b" + std::to_string(batch) + "-" + std::to_string(i);
    record.headers = {{"eddy.job", kIdentity.job},
                      {"eddy.run", kIdentity.run},
                      {"eddy.sink", "sink"},
                      {"eddy.batch", std::to_string(batch)},
                      {"eddy.seq", std::to_string(seq[record.partition]++)},
                      {"eddy.task", std::to_string(i % 3)}};
    legacy.push_back(record);
  };
  for (int i = 0; i < 40; ++i) add(1, i);
  seq.assign(kPartitions, 0);
  for (int i = 0; i < 6; ++i) add(2, i);
  ProduceRecords(broker_->bootstrap(), "out", legacy);

  auto writer = Open("sink", kIdentity, {});
  ASSERT_NE(writer, nullptr);
  Write(*writer, 2, 0, 40);
  std::map<int32_t, std::vector<std::string>> values;
  for (const TestRecord& record : ConsumeAll(broker_->bootstrap(), "out")) {
    values[record.partition].push_back(record.value);
  }
  for (int partition = 0; partition < kPartitions; ++partition) {
    std::vector<std::string> expected;
    for (int batch = 1; batch <= 2; ++batch) {
      for (int i = partition; i < 40; i += kPartitions) {
        expected.push_back("b" + std::to_string(batch) + "-" + std::to_string(i));
      }
    }
    EXPECT_EQ(values[partition], expected) << "partition " << partition;
  }
}

TEST_F(KafkaWriterTest, TheScanStopsAtTheRecordedPositionAndANewRunScansNothing) {
  // In partition 0, a record of this writer's identity claiming batch 99,
  // before what the state recorded: no batch that runs again can have
  // written it. (Record 0 of a batch goes to partition 0.)
  std::string position;
  {
    auto writer = Open("sink", kIdentity, NewRun());
    Write(*writer, 99, 0, 1);
    position = writer->Position();
    EXPECT_EQ(position, "o1:1,0,0,0");
  }
  // Unbounded (a state without a position), the scan finds batch 99 and
  // drops batch 5 as already there.
  {
    auto unbounded = Open("sink", kIdentity, {});
    Write(*unbounded, 5, 0, 1);
    EXPECT_EQ(unbounded->delivered(), 0);
  }
  // Bounded by the position, it finds nothing and writes batch 5.
  {
    auto bounded = Open("sink", kIdentity, Resume(position));
    Write(*bounded, 5, 0, 1);
    EXPECT_EQ(bounded->delivered(), 1);
  }
  // A new run does not even look: batch 5 is there now, and is written again.
  auto fresh = Open("sink", kIdentity, NewRun());
  Write(*fresh, 5, 0, 1);
  EXPECT_EQ(fresh->delivered(), 1);
  EXPECT_EQ(Written("sink", kIdentity).at(0),
            (std::vector<std::string>{"b99-0 @99/0/0", "b5-0 @5/0/0", "b5-0 @5/0/0"}));
}

Result<std::unique_ptr<Source>> RawSource(const std::string& bootstrap, const std::string& topic) {
  KafkaSourceOptions options;
  options.name = "in";
  options.topics = {topic};
  options.client = KafkaClientConfig{bootstrap, {}};
  options.group_id = "writer-test";
  spec::FormatSpec format;
  format.set_type("raw");
  EDDY_ASSIGN_OR_RETURN(options.decoder, MakeDecoder(format, {}, ""));
  return MakeKafkaSource(std::move(options));
}

TEST_F(KafkaWriterTest, TheSourceKnowsEveryPartitionsEndFromOneQueryAndFromItsFetches) {
  constexpr int kInputPartitions = 64;
  ASSERT_TRUE(broker_->CreateTopic("in", kInputPartitions).ok());
  std::vector<TestRecord> records;
  for (int partition = 0; partition < kInputPartitions; ++partition) {
    for (int i = 0; i < partition % 5; ++i) records.push_back({partition, std::nullopt, "x", {}});
  }
  ProduceRecords(broker_->bootstrap(), "in", records);
  auto source = RawSource(broker_->bootstrap(), "in");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  Status opened = (*source)->Open();
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  auto initial = (*source)->InitialOffsets();
  ASSERT_TRUE(initial.ok()) << initial.status().ToString();
  ASSERT_TRUE((*source)->StartFrom(*initial).ok());
  Offsets expected(kInputPartitions);
  for (int partition = 0; partition < kInputPartitions; ++partition) {
    EXPECT_EQ((*initial)[partition], Offset{0});
    expected[partition] = Offset{partition % 5};
  }
  auto latest = (*source)->LatestOffsets();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(*latest, expected);

  // More records: the consumer's fetches bring their high watermarks.
  records.clear();
  for (int partition = 0; partition < kInputPartitions; ++partition) {
    records.push_back({partition, std::nullopt, "y", {}});
    expected[partition] = expected[partition] + 1;
  }
  ProduceRecords(broker_->bootstrap(), "in", records);
  Offsets known;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto offsets = (*source)->KnownOffsets();
    ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
    known = *offsets;
    for (size_t partition = 0; partition < known.size(); ++partition) {
      ASSERT_LE(known[partition], expected[partition]) << partition;
    }
    if (known == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(known, expected);
  // And what they brought reads as any range does.
  Batch batch((*source)->schema());
  DeadLetters dead;
  std::atomic<bool> cancel{false};
  ASSERT_TRUE((*source)->Read({7, Offset{0}, Offset{3}}, cancel, &batch, &dead).ok());
  ASSERT_EQ(batch.num_rows(), 3u);
  EXPECT_EQ(batch.column(0).GetString(2), "y");
}

}  // namespace
}  // namespace eddy
