// Scale-out (docs/scale-out.md): one windowed job run as several `eddy run`
// processes that divide the input topic's partitions through a Kafka
// consumer group, against a broker over TCP. Whatever happens to the
// instances — three from the start, kill -9 at random moments, 1 → 3 → 2
// while running, one frozen with SIGSTOP until its partitions moved — the
// output topic must hold exactly the window results of one uninterrupted
// single-process run over the same input: the same records, none twice,
// each key's windows in order.

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "tests/integration/kafka_test_util.h"
#include "tests/integration/metrics_test_util.h"

namespace eddy {
namespace {

constexpr int kPartitions = 6;
constexpr int kUsersPerPartition = 10;
constexpr int kChunks = 10;
constexpr int kRecordsPerChunk = 300;               // per partition
constexpr int64_t kBaseMillis = 1'767'225'600'000;  // 2026-01-01
constexpr int64_t kStepMillis = 20;
constexpr int64_t kWindowMillis = 1000;
constexpr int kPages = 40;

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    for (const char* topic : {"events", "out", "reference"}) {
      ASSERT_TRUE(broker_->CreateTopic(topic, kPartitions).ok());
    }
    // The instances' status topic (compacted on a real cluster).
    ASSERT_TRUE(broker_->CreateTopic("clicks.instances", 1).ok());
    dir_ = testing::MakeTempDir("eddy-scale");
  }

  void TearDown() override {
    for (auto& [name, pid] : running_) {
      kill(pid, SIGKILL);
      testing::WaitForExit(pid);
    }
  }

  // The job: per user, tumbling 1 s windows of count and sum. `scaled`
  // runs it as instance `instance` of the group; otherwise as one process.
  std::string WriteJob(const std::string& instance, const std::string& out, bool scaled) {
    std::string job =
        "name: clicks\n"
        "kafka: { brokers: \"" +
        broker_->bootstrap() +
        "\" }\n"
        "sources:\n"
        "  - name: events\n"
        "    kafka: { topics: [events]" +
        partitioned_by_ +
        " }\n"
        "    format: json\n"
        "    schema:\n"
        "      - { name: user, type: string }\n"
        "      - { name: amount, type: int64 }\n"
        "      - { name: ts, type: timestamp }\n" +
        extra_columns_ + "    event_time: { column: ts, max_out_of_orderness: 100ms" +
        idle_timeout_ + " }\n" + extra_sources_ + "operators:\n" + operators_ +
        "sinks:\n"
        "  - name: out\n"
        "    kafka: { key: " +
        sink_key_ + ", topic: " + out +
        " }\n"
        "    format: json\n"
        "trigger: { interval: 100ms, max_records_per_partition: 100 }\n"
        "state: { dir: " +
        dir_ + "/state-" + instance +
        " }\n"
        "checkpoint: { every_batches: 4 }\n";
    if (scaled) {
      job +=
          "scale:\n"
          "  mode: kafka\n"
          "  instance: " +
          instance +
          "\n"
          "  shared_dir: " +
          dir_ +
          "/shared\n"
          "  session_timeout: 6s\n";
    }
    const std::string path = dir_ + "/" + instance + ".yaml";
    testing::WriteFile(path, job);
    return path;
  }

  // `metrics_port` 0: no metrics endpoint; `api_port` 0: no instances API.
  void Start(const std::string& instance, int metrics_port = 0, int api_port = 0) {
    const std::string job = WriteJob(instance, "out", /*scaled=*/true);
    const std::string metrics =
        metrics_port == 0 ? "off" : "127.0.0.1:" + std::to_string(metrics_port);
    std::vector<std::string> args = {"run", job, "--metrics-address", metrics};
    if (api_port != 0) {
      args.push_back("--api-address");
      args.push_back("127.0.0.1:" + std::to_string(api_port));
    }
    running_[instance] = testing::SpawnEddy(args, dir_ + "/" + instance + ".log");
  }
  void Kill(const std::string& instance, int signal) {
    const pid_t pid = running_.at(instance);
    kill(pid, signal);
    if (signal == SIGKILL || signal == SIGTERM) {
      testing::WaitForExit(pid);
      running_.erase(instance);
    }
  }
  std::string Log(const std::string& instance) {
    return testing::ReadFile(dir_ + "/" + instance + ".log");
  }

  // Chunk `chunk` of the input: per partition, records in event-time order
  // of the users that live there; the last chunk ends every partition with
  // a record far in the future, which closes every window before it.
  void ProduceChunk(int chunk) {
    std::vector<testing::TestRecord> records;
    for (int partition = 0; partition < kPartitions; ++partition) {
      if (partition == empty_partition_) continue;
      for (int idx = 0; idx < kRecordsPerChunk; ++idx) {
        const int64_t step = static_cast<int64_t>(chunk) * kRecordsPerChunk + idx;
        const int user = partition + kPartitions * (idx % kUsersPerPartition);
        const int64_t ts = kBaseMillis + step * kStepMillis + partition * skew_millis_;
        const std::string page =
            with_pages_ ? ", \"page\": \"p" + std::to_string((step + user) % kPages) + "\"" : "";
        const std::string value = "{\"user\": \"u" + std::to_string(user) +
                                  "\", \"amount\": " + std::to_string((chunk * 7 + idx) % 13) +
                                  ", \"ts\": " + std::to_string(ts) + page + "}";
        records.push_back({partition, "u" + std::to_string(user), value, {}});
      }
      if (chunk == kChunks - 1 && close_windows_) {
        const std::string flush = "{\"user\": \"flush\", \"amount\": 0, \"ts\": " +
                                  std::to_string(kBaseMillis + 100'000'000) + "}";
        records.push_back({partition, std::nullopt, flush, {}});
      }
    }
    testing::ProduceRecords(broker_->bootstrap(), "events", records);
  }

  // Windows the whole input closes: every (user, second) it touches.
  static size_t ExpectedWindows() {
    const int64_t steps = static_cast<int64_t>(kChunks) * kRecordsPerChunk;
    std::set<std::pair<int, int64_t>> windows;
    for (int64_t step = 0; step < steps; ++step) {
      for (int partition = 0; partition < kPartitions; ++partition) {
        const int user = partition + kPartitions * static_cast<int>(step % kUsersPerPartition);
        windows.insert({user, (step * kStepMillis) / kWindowMillis});
      }
    }
    return windows.size();
  }

  // Waits until `topic` holds `count` records and no more arrive for 3 s.
  std::vector<testing::TestRecord> AwaitOutput(const std::string& topic, size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    std::vector<testing::TestRecord> records;
    auto stable_since = std::chrono::steady_clock::now();
    size_t last = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      records = testing::ConsumeAll(broker_->bootstrap(), topic);
      if (records.size() != last) {
        last = records.size();
        stable_since = std::chrono::steady_clock::now();
      }
      if (records.size() >= count &&
          std::chrono::steady_clock::now() - stable_since > std::chrono::seconds(3)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return records;
  }

  // The single-process run over the complete input, to compare with.
  std::vector<testing::TestRecord> ReferenceOutput() {
    const std::string job = WriteJob("reference", "reference", /*scaled=*/false);
    const testing::ProcessResult run =
        testing::RunEddy("run " + job + " --once --metrics-address off");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return testing::ConsumeAll(broker_->bootstrap(), "reference");
  }

  // Same records as the reference (as a multiset: partitions interleave
  // differently), none twice, and each user's windows in order.
  void ExpectExactlyTheReference(const std::vector<testing::TestRecord>& out) {
    const std::vector<testing::TestRecord> reference = ReferenceOutput();
    ASSERT_EQ(reference.size(), expected_records_);
    std::multiset<std::string> expected;
    for (const auto& record : reference) expected.insert(record.value);
    std::multiset<std::string> actual;
    for (const auto& record : out) actual.insert(record.value);
    EXPECT_EQ(out.size(), reference.size());
    std::vector<std::string> missing;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    std::vector<std::string> extra;
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    EXPECT_TRUE(missing.empty()) << missing.size() << " missing, e.g. " << missing.front();
    EXPECT_TRUE(extra.empty()) << extra.size() << " extra (duplicated), e.g. " << extra.front();
    // Per user (or per order_keys_), the order field never decreases in the
    // output's order (a window start; a record's event time).
    auto field = [](const std::string& value, const std::string& name) {
      const size_t at = value.find("\"" + name + "\":");
      return at == std::string::npos ? std::string()
                                     : value.substr(at, value.find_first_of(",}", at) - at);
    };
    std::map<std::string, std::string> last_start;
    for (const auto& record : out) {
      const std::string& value = record.value;
      std::string user;
      for (const std::string& key : order_keys_) {
        ASSERT_FALSE(field(value, key).empty()) << value;
        user += field(value, key);
      }
      const std::string start = field(value, order_field_);
      ASSERT_FALSE(start.empty()) << value;
      auto [it, inserted] = last_start.emplace(user, start);
      if (!inserted) {
        EXPECT_LE(it->second, start) << user << " out of order";
        it->second = start;
      }
    }
  }

  // 1 s windows per amount, over input not partitioned by amount: a
  // repartition stage; partition p's event times run p * 10 min ahead.
  void WindowPerAmountAfterARepartition(const std::string& aggregates) {
    ASSERT_TRUE(broker_->CreateTopic("clicks.per_amount.repartition", kPartitions).ok());
    operators_ =
        "  - name: per_amount\n"
        "    window:\n"
        "      key: [amount]\n"
        "      type: tumbling\n"
        "      size: 1s\n"
        "      aggregates: " +
        aggregates + "\n";
    partitioned_by_ = "";
    sink_key_ = "amount";
    skew_millis_ = 600'000;
  }

  // The job's operators; the last one feeds the sink. Its output rows
  // carry `user` and `order_field_`, which grows per user.
  std::string operators_ =
      "  - name: per_user\n"
      "    window:\n"
      "      key: [user]\n"
      "      type: tumbling\n"
      "      size: 1s\n"
      "      aggregates: [\"count(*) AS n\", \"sum(amount) AS total\"]\n";
  std::string order_field_ = "window_start";
  std::vector<std::string> order_keys_ = {"user"};
  // More of the job: columns of the input (after ts), sources after it.
  std::string extra_columns_;
  std::string extra_sources_;
  // Each input record names a page (kPages of them) in its field `page`.
  bool with_pages_ = false;
  // How the input is partitioned, as the source declares it; the sink's key.
  std::string partitioned_by_ = ", partitioned_by: [user]";
  std::string sink_key_ = "user";
  // The input ends with a far-future record per partition, which closes
  // every window. Its key ("flush") is in every partition, unlike the
  // users', so a job keyed by user without windows does without it.
  bool close_windows_ = true;
  // Partition p's event times run p * skew_millis_ ahead of partition 0's.
  int64_t skew_millis_ = 0;
  int empty_partition_ = -1;       // gets no records
  std::string idle_timeout_ = "";  // ", idle_timeout: ..." on the source
  size_t expected_records_ = ExpectedWindows();

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
  std::map<std::string, pid_t> running_;
};

TEST_F(ScaleOutTest, ThreeInstancesDivideThePartitionsAndEqualOneProcess) {
  const int metrics_port = testing::FreePort();
  Start("a", metrics_port);
  Start("b");
  Start("c");
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const auto out = AwaitOutput("out", expected_records_);
  // a's endpoint shows what it owns (two of the six partitions once the
  // group settled on three instances) and the shards it opened.
  const auto scrape = testing::HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(scrape.has_value());
  EXPECT_NE(scrape->find("eddy_instance_partitions{job=\"clicks\"} 2"), std::string::npos)
      << *scrape;
  EXPECT_NE(scrape->find("eddy_instance_partition_moves_total{change=\"assigned\",job=\"clicks\"}"),
            std::string::npos);
  EXPECT_NE(scrape->find("eddy_instance_restore_seconds_count{job=\"clicks\"}"), std::string::npos);
  EXPECT_NE(scrape->find("eddy_instance_rebalances_total{job=\"clicks\"}"), std::string::npos);
  // Every instance series the dashboard queries.
  const std::set<std::string> exported = testing::ExportedNames(*scrape);
  for (const std::string& name : testing::kInstanceSeries) {
    EXPECT_TRUE(exported.count(name)) << name << " not exported:\n" << *scrape;
  }
  for (const char* instance : {"a", "b", "c"}) {
    EXPECT_NE(Log(instance).find("assigned partitions"), std::string::npos) << Log(instance);
    Kill(instance, SIGTERM);
  }
  ExpectExactlyTheReference(out);
}

TEST_F(ScaleOutTest, KillNineOfThreeAtRandomMomentsLosesAndDuplicatesNothing) {
  const std::vector<std::string> instances = {"a", "b", "c"};
  for (const auto& instance : instances) Start(instance);
  std::mt19937 random(20261203);
  std::uniform_int_distribution<int> pick(0, 2);
  std::uniform_int_distribution<int> pause_ms(200, 1500);
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    if (chunk % 3 == 1) {
      // kill -9 at a random moment; the instance comes back (same name,
      // same local state) a moment later, as a StatefulSet pod would.
      const std::string victim = instances[pick(random)];
      Kill(victim, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
      Start(victim);
    }
  }
  const auto out = AwaitOutput("out", expected_records_);
  for (const auto& instance : instances) Kill(instance, SIGTERM);
  ExpectExactlyTheReference(out);
}

TEST_F(ScaleOutTest, ScalingOneToThreeToTwoWhileRunningMovesStateExactly) {
  Start("a");
  for (int chunk = 0; chunk < 3; ++chunk) ProduceChunk(chunk);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  Start("b");
  Start("c");
  // The group rebalances (seconds on the test broker) and hands b and c
  // partitions with a's state.
  for (const char* instance : {"b", "c"}) {
    ASSERT_TRUE(
        testing::WaitForLogCount(dir_ + "/" + instance + ".log", "assigned partitions", 1, 60000))
        << Log(instance);
  }
  for (int chunk = 3; chunk < 7; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  // Scale down: b leaves the group cleanly (SIGTERM), its shards checkpoint.
  Kill("b", SIGTERM);
  for (int chunk = 7; chunk < kChunks; ++chunk) ProduceChunk(chunk);
  const auto out = AwaitOutput("out", expected_records_);
  EXPECT_NE(Log("b").find("gives up partitions"), std::string::npos) << Log("b");
  Kill("a", SIGTERM);
  Kill("c", SIGTERM);
  ExpectExactlyTheReference(out);
}

TEST_F(ScaleOutTest, AFrozenInstanceWhosePartitionsMovedWritesNothingWhenItWakes) {
  Start("a");
  Start("b");
  for (int chunk = 0; chunk < 3; ++chunk) ProduceChunk(chunk);
  // Both own partitions (a joined the group: it runs shards of its own).
  ASSERT_TRUE(testing::WaitForLogCount(dir_ + "/a.log", " open after ", 1, 60000)) << Log("a");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // Freeze a past its 6 s session: the group gives its partitions to b.
  const std::string all = "assigned partitions [0,1,2,3,4,5]";
  const int b_had_all = testing::CountInFile(dir_ + "/b.log", all);
  Kill("a", SIGSTOP);
  const auto frozen_at = std::chrono::steady_clock::now();
  for (int chunk = 3; chunk < 6; ++chunk) ProduceChunk(chunk);
  ASSERT_TRUE(testing::WaitForLogCount(dir_ + "/b.log", all, b_had_all + 1, 60000)) << Log("b");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_GT(std::chrono::steady_clock::now() - frozen_at, std::chrono::seconds(6));
  // a wakes up with batches in flight and leases long expired.
  Kill("a", SIGCONT);
  for (int chunk = 6; chunk < kChunks; ++chunk) ProduceChunk(chunk);
  const auto out = AwaitOutput("out", expected_records_);
  // On waking, a learnt that the group had moved on: its writes were
  // refused by expired leases, or the group took its partitions first.
  const std::string a_log = Log("a");
  EXPECT_TRUE(a_log.find("fenced") != std::string::npos ||
              a_log.find("lost partitions") != std::string::npos ||
              a_log.find("gives up partitions") != std::string::npos)
      << a_log;
  Kill("a", SIGTERM);
  Kill("b", SIGTERM);
  ExpectExactlyTheReference(out);
}

// Per-key models (one SGD classifier per user, prequential: each row is
// predicted, then learned) trained by three instances, one of them killed
// and restarted mid-run, predict every row exactly as one process does.
TEST_F(ScaleOutTest, PerKeyModelsTrainedAcrossInstancesPredictAsInOneProcess) {
  operators_ =
      "  - name: model\n"
      "    prequential:\n"
      "      model: sgd_classifier\n"
      "      features: [amount]\n"
      "      label: amount > 6\n"
      "      per_key: [user]\n"
      "      options: { classes: 2, learning_rate: constant, eta0: 0.1 }\n"
      "  - name: predictions\n"
      "    select: [user, ts, amount, prediction, probability]\n";
  order_field_ = "ts";
  close_windows_ = false;
  expected_records_ = static_cast<size_t>(kChunks) * kRecordsPerChunk * kPartitions;
  for (const char* instance : {"a", "b", "c"}) Start(instance);
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (chunk == 4) {
      Kill("b", SIGKILL);
      Start("b");
    }
  }
  const auto out = AwaitOutput("out", expected_records_);
  for (const char* instance : {"a", "b", "c"}) Kill(instance, SIGTERM);
  ExpectExactlyTheReference(out);
}

// What instances cannot share is refused before anything runs, with the
// job file's line and column and the key.
// Running totals per amount over input partitioned by user: no instance
// has all the rows of an amount, so the job splits into two stages through
// clicks.per_amount.repartition, each row going to the partition that owns
// its amount's key group. Two instances, one killed with -9 halfway and
// restarted: each amount's totals grow by exactly its rows (no row lost
// on the way through the topic, none counted twice, no total written
// twice) and end where one process over the whole input ends.
TEST_F(ScaleOutTest, AnAggregateByAnotherKeyRepartitionsThroughKafkaExactly) {
  ASSERT_TRUE(broker_->CreateTopic("clicks.per_amount.repartition", kPartitions).ok());
  operators_ =
      "  - name: per_amount\n"
      "    aggregate:\n"
      "      key: [amount]\n"
      "      aggregates: [\"count(*) AS n\", \"sum(amount) AS total\"]\n";
  partitioned_by_ = "";
  sink_key_ = "amount";
  close_windows_ = false;
  // amount -> its last (n, total) in output order, and whether n only grew.
  auto finals = [](const std::vector<testing::TestRecord>& records, bool* increasing) {
    std::map<std::string, std::pair<int64_t, std::string>> last;
    for (const auto& record : records) {
      const std::string& value = record.value;
      const size_t n_at = value.find("\"n\":");
      EXPECT_NE(n_at, std::string::npos) << value;
      if (n_at == std::string::npos) continue;
      const std::string amount = value.substr(0, value.find(','));
      const int64_t n = std::stoll(value.substr(n_at + 4));
      auto [it, inserted] = last.emplace(amount, std::make_pair(n, value));
      if (!inserted) {
        if (n <= it->second.first) *increasing = false;
        it->second = {n, value};
      }
    }
    std::map<std::string, std::string> out;
    for (const auto& [amount, entry] : last) out[amount] = entry.second;
    return out;
  };
  Start("a");
  Start("b");
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    if (chunk == kChunks / 2) Kill("b", SIGKILL);
    if (chunk == kChunks / 2 + 2) Start("b");
  }
  const auto reference = ReferenceOutput();
  bool reference_increasing = true;
  const auto expected = finals(reference, &reference_increasing);
  ASSERT_EQ(expected.size(), 13u);  // amounts 0..12
  std::map<std::string, std::string> actual;
  bool increasing = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    increasing = true;
    actual = finals(testing::ConsumeAll(broker_->bootstrap(), "out"), &increasing);
    if (actual == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(actual, expected) << Log("a") << Log("b");
  EXPECT_TRUE(increasing) << "a running total was written twice or went back";
  // Both stages ran: the first wrote the topic, the second read it.
  const auto through = testing::ConsumeAll(broker_->bootstrap(), "clicks.per_amount.repartition");
  // Rows, and the watermark records (no value) the first stage forwards.
  const auto rows = std::count_if(through.begin(), through.end(),
                                  [](const testing::TestRecord& r) { return !r.value.empty(); });
  EXPECT_EQ(rows, kChunks * kRecordsPerChunk * kPartitions);
  EXPECT_GT(through.size(), static_cast<size_t>(rows));
  for (const char* instance : {"a", "b"}) Kill(instance, SIGTERM);
}

// Windows after a repartition close on the watermark the upstream shards
// forward through the topic: the slowest shard's, as in one process. The
// partitions' event times are ten minutes apart, so a stage that took its
// event time from the rows it received (each partition of the topic mixes
// every shard's) would drop the slow shards' rows as late.
TEST_F(ScaleOutTest, WindowsAfterARepartitionCloseOnTheSlowestShardsWatermark) {
  ASSERT_NO_FATAL_FAILURE(
      WindowPerAmountAfterARepartition("[\"count(*) AS n\", \"sum(amount) AS total\"]"));
  Start("a");
  Start("b");
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const auto reference = ReferenceOutput();
  // Every window of every amount but the flush records' closes: each
  // partition's rows span 60 s, so 13 amounts x 60 s x 6 partitions.
  ASSERT_EQ(reference.size(), 13u * 60 * kPartitions);
  std::multiset<std::string> expected;
  for (const auto& record : reference) expected.insert(record.value);
  std::multiset<std::string> actual;
  for (const auto& record : AwaitOutput("out", reference.size())) actual.insert(record.value);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected) << Log("a") << Log("b");
  for (const char* instance : {"a", "b"}) Kill(instance, SIGTERM);
}

// A shard whose partition gets no records says so once its idle timeout
// passed, and the stage after the repartition leaves it out: its windows
// close on the other shards' watermarks.
TEST_F(ScaleOutTest, AShardWithoutInputHoldsNoWatermarkBackAfterItsIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(WindowPerAmountAfterARepartition("[\"count(*) AS n\"]"));
  empty_partition_ = kPartitions - 1;
  idle_timeout_ = ", idle_timeout: 1s";
  Start("a");
  for (int chunk = 0; chunk < kChunks; ++chunk) ProduceChunk(chunk);
  // 13 amounts x 60 one-second windows in each partition with records.
  const size_t expected = 13u * 60 * (kPartitions - 1);
  const auto out = AwaitOutput("out", expected);
  EXPECT_EQ(out.size(), expected) << Log("a");
  Kill("a", SIGTERM);
}

// What a list of instances (`eddy instances --json`, GET /api/v1/instances)
// says, per instance: its state and the partitions of `events` it owns.
struct ListedInstance {
  std::string state;
  std::set<int64_t> owned;
  std::set<int64_t> stale;
  bool operator==(const ListedInstance&) const = default;
};
using Listing = std::map<std::string, ListedInstance>;

Listing ParseListing(const std::string& json) {
  Listing listing;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return listing;
  simdjson::dom::array instances;
  if (doc["instances"].get(instances) != simdjson::SUCCESS) return listing;
  for (simdjson::dom::element instance : instances) {
    std::string_view name, state;
    if (instance["instance"].get(name) != simdjson::SUCCESS ||
        instance["state"].get(state) != simdjson::SUCCESS) {
      continue;
    }
    ListedInstance& listed = listing[std::string(name)];
    listed.state = std::string(state);
    for (auto [key, target] :
         {std::pair{"partitions", &listed.owned}, std::pair{"stale_partitions", &listed.stale}}) {
      simdjson::dom::array numbers;
      if (instance[key]["events"].get(numbers) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element number : numbers) target->insert(number.get_int64().value());
    }
  }
  return listing;
}

// Whether every partition of `events` is owned by exactly one instance.
bool OwnedOnceEach(const Listing& listing) {
  std::multiset<int64_t> owned;
  for (const auto& [name, instance] : listing)
    owned.insert(instance.owned.begin(), instance.owned.end());
  std::multiset<int64_t> all;
  for (int partition = 0; partition < kPartitions; ++partition) all.insert(partition);
  return owned == all;
}

// `eddy instances` and each instance's `GET /api/v1/instances` list the
// instances of the job from its status topic: two running instances with
// disjoint partitions covering the topic; after a kill -9, the survivor
// with every partition and the killed one lost, its partitions stale;
// after a clean stop, "stopped" owning nothing. /healthz answers for the
// instance itself.
TEST_F(ScaleOutTest, InstancesAreListedByTheCliAndTheApiLostAndStopped) {
  const int api_a = testing::FreePort();
  const int api_b = testing::FreePort();
  Start("a", 0, api_a);
  Start("b", 0, api_b);
  ProduceChunk(0);
  const std::string job = dir_ + "/a.yaml";
  std::string cli_output;
  auto cli = [&] {
    const testing::ProcessResult listed = testing::RunEddy("instances --json " + job);
    cli_output = listed.output;
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    return ParseListing(
        listed.output.substr(std::min(listed.output.find("{\"job\""), listed.output.size())));
  };
  Listing listing;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        listing = cli();
        return listing.size() == 2 && listing["a"].state == "running" &&
               listing["b"].state == "running" && !listing["a"].owned.empty() &&
               !listing["b"].owned.empty() && OwnedOnceEach(listing);
      },
      std::chrono::seconds(60)))
      << cli_output << Log("a") << Log("b");

  // The same through each instance's API, with a real HTTP client.
  for (int port : {api_a, api_b}) {
    httplib::Client client("127.0.0.1", port);
    const auto reply = client.Get("/api/v1/instances");
    ASSERT_TRUE(reply) << httplib::to_string(reply.error());
    EXPECT_EQ(reply->status, 200) << reply->body;
    const Listing from_api = ParseListing(reply->body);
    EXPECT_EQ(from_api.size(), 2u) << reply->body;
    EXPECT_TRUE(OwnedOnceEach(from_api)) << reply->body;
  }
  httplib::Client b_client("127.0.0.1", api_b);
  const auto health = b_client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_NE(health->body.find("\"instance\":\"b\""), std::string::npos) << health->body;
  // The table names both, with their API addresses.
  const testing::ProcessResult table = testing::RunEddy("instances " + job);
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("127.0.0.1:" + std::to_string(api_b)), std::string::npos)
      << table.output;

  // kill -9 b: the group moves its partitions to a, and b falls silent
  // until readers call it lost.
  Kill("b", SIGKILL);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        listing = cli();
        return listing["b"].state == "lost" && listing["b"].owned.empty() &&
               listing["a"].owned.size() == static_cast<size_t>(kPartitions);
      },
      std::chrono::seconds(90)))
      << cli_output << Log("a");
  EXPECT_FALSE(listing["b"].stale.empty()) << cli_output;
  httplib::Client a_client("127.0.0.1", api_a);
  const auto after_kill = a_client.Get("/api/v1/instances");
  ASSERT_TRUE(after_kill);
  EXPECT_EQ(ParseListing(after_kill->body)["b"].state, "lost") << after_kill->body;

  // A clean stop writes "stopped", owning nothing.
  Kill("a", SIGTERM);
  listing = cli();
  EXPECT_EQ(listing["a"].state, "stopped") << cli_output << Log("a");
  EXPECT_TRUE(listing["a"].owned.empty()) << cli_output;
}

// A stream keyed by user looks up a table keyed by page: neither side is
// where the join needs it, so both go through topics of their own, routed
// by the key group of the page (clicks.joined.repartition by the click's
// page, clicks.joined.table.repartition by the table row's), into the
// join's stage, whose shard p reads partition p of both. Three instances
// over TCP, one killed with -9 while clicks flow and restarted: every
// enriched click is in the output once, as one process makes it, and each
// (user, page)'s clicks in event-time order.
//
// The table is loaded, updated (each page written twice, the second
// version winning; three pages deleted) and through its topic before the
// first click: which version a click meets while the table changes is a
// matter of batch boundaries, in one process as in three, so only a table
// that settled first gives one well-defined result to compare with.
TEST_F(ScaleOutTest, ALookupJoinOnAnotherKeyRepartitionsBothSidesExactly) {
  constexpr int kLookupChunks = 4;
  for (const char* topic :
       {"pages", "clicks.joined.repartition", "clicks.joined.table.repartition"}) {
    ASSERT_TRUE(broker_->CreateTopic(topic, kPartitions).ok());
  }
  with_pages_ = true;
  extra_columns_ = "      - { name: page, type: string }\n";
  extra_sources_ =
      "  - name: pages\n"
      "    kafka: { topics: [pages] }\n"
      "    format: json\n"
      "    schema:\n"
      "      - { name: page, type: string }\n"
      "      - { name: title, type: string, nullable: true }\n"
      "      - { name: rank, type: int64, nullable: true }\n";
  operators_ =
      "  - name: joined\n"
      "    inputs: [events, pages]\n"
      "    lookup_join: { key: page, table_key: page, join_type: left }\n"
      "  - name: enriched\n"
      "    select: [user, page, ts, amount, title, rank]\n";
  order_field_ = "ts";
  order_keys_ = {"user", "page"};
  close_windows_ = false;
  expected_records_ = static_cast<size_t>(kLookupChunks) * kRecordsPerChunk * kPartitions;

  // Pages p0..p38 (p39 is never in the table), both versions of a page in
  // one partition of `pages`, which is not partitioned by page.
  std::vector<testing::TestRecord> table;
  for (int version = 0; version < 2; ++version) {
    for (int page = 0; page < kPages - 1; ++page) {
      const std::string name = "p" + std::to_string(page);
      const bool deleted = version == 1 && page < 3;
      const std::string row =
          deleted ? "{\"page\": \"" + name + "\", \"title\": null, \"rank\": null}"
                  : "{\"page\": \"" + name + "\", \"title\": \"" +
                        (version == 0 ? "draft " : "title ") + std::to_string(page) +
                        "\", \"rank\": " + std::to_string(page * (version + 1)) + "}";
      table.push_back({(page * 5) % kPartitions, std::nullopt, row, {}});
    }
  }
  for (const char* instance : {"a", "b", "c"}) Start(instance);
  testing::ProduceRecords(broker_->bootstrap(), "pages", table);
  const auto through = AwaitOutput("clicks.joined.table.repartition", table.size());
  ASSERT_EQ(through.size(), table.size()) << Log("a");
  // Each table row went to the partition that owns its page's key group,
  // and every version of a page to the same one.
  std::map<std::string, int32_t> partition_of_page;
  for (const auto& record : through) {
    const std::string page = record.value.substr(0, record.value.find(','));
    auto [it, inserted] = partition_of_page.emplace(page, record.partition);
    EXPECT_EQ(it->second, record.partition) << page;
  }
  EXPECT_EQ(partition_of_page.size(), static_cast<size_t>(kPages - 1));

  for (int chunk = 0; chunk < kLookupChunks; ++chunk) {
    ProduceChunk(chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (chunk == 1) {
      Kill("b", SIGKILL);
      Start("b");
    }
  }
  const auto out = AwaitOutput("out", expected_records_);
  // A click meets its page's rows in the partition they were routed to.
  // (Its watermark records, without a value, are no clicks.)
  auto clicks = testing::ConsumeAll(broker_->bootstrap(), "clicks.joined.repartition");
  std::erase_if(clicks, [](const testing::TestRecord& record) { return record.value.empty(); });
  EXPECT_EQ(clicks.size(), expected_records_);
  for (const auto& record : clicks) {
    const size_t at = record.value.find("\"page\":");
    ASSERT_NE(at, std::string::npos) << record.value;
    const std::string page = "{" + record.value.substr(at, record.value.find('}', at) - at);
    auto it = partition_of_page.find(page);
    if (it != partition_of_page.end()) EXPECT_EQ(it->second, record.partition) << record.value;
  }
  for (const char* instance : {"a", "b", "c"}) Kill(instance, SIGTERM);
  ExpectExactlyTheReference(out);
  // The table's final versions, deletions and the missing page show.
  std::set<std::string> titles;
  for (const auto& record : out) {
    const size_t at = record.value.find("\"title\":");
    titles.insert(record.value.substr(at, record.value.find(',', at) - at));
  }
  EXPECT_TRUE(titles.count("\"title\":null"));
  EXPECT_TRUE(titles.count("\"title\":\"title 3\""));
  EXPECT_FALSE(titles.count("\"title\":\"draft 3\""));
}

// Eddy creates its repartition topics at start (connectors/kafka/
// kafka_admin.h). The test broker has no CreateTopics: a missing topic is
// named with the partition count to create it with, and one that exists
// with another partition count than the leading topic's is refused before
// anything runs (its key groups would land in other partitions than the
// shards' state expects).
TEST_F(ScaleOutTest, RepartitionTopicsAreCheckedAtStartAndAMissingOneIsNamed) {
  operators_ =
      "  - name: per_amount\n"
      "    aggregate: { key: [amount], aggregates: [\"count(*) AS n\"] }\n";
  partitioned_by_ = "";
  sink_key_ = "amount";
  Start("a");
  ASSERT_TRUE(testing::WaitForLogCount(
      dir_ + "/a.log",
      "create repartition topic clicks.per_amount.repartition with 6 partitions (as many as "
      "events)",
      1, 30000))
      << Log("a");
  Kill("a", SIGTERM);

  ASSERT_TRUE(broker_->CreateTopic("clicks.per_amount.repartition", 4).ok());
  const std::string job = WriteJob("b", "out", /*scaled=*/true);
  const testing::ProcessResult run = testing::RunEddy("run " + job + " --metrics-address off");
  EXPECT_EQ(run.exit_code, 2) << run.output;  // the job failed, as it started
  EXPECT_NE(run.output.find("the stage from 'per_amount': Kafka topic "
                            "'clicks.per_amount.repartition' exists with 4 partitions, but 6 "
                            "are needed"),
            std::string::npos)
      << run.output;
}

TEST(ScaleOutSettings, ValidateRefusesWhatInstancesCannotShare) {
  const std::string dir = testing::MakeTempDir("eddy-scale-settings");
  auto job = [&](const std::string& source, const std::string& scale) {
    testing::WriteFile(dir + "/job.yaml",
                       "name: j\n"
                       "kafka: { brokers: \"127.0.0.1:9\" }\n"
                       "sources:\n"
                       "  - name: in\n" +
                           source +
                           "sinks:\n"
                           "  - name: out\n"
                           "    kafka: { topic: out }\n"
                           "scale:\n" +
                           scale);
    return testing::RunEddy("validate " + dir + "/job.yaml");
  };
  const std::string kafka_source = "    kafka: { topics: [in] }\n    format: raw\n";
  const std::string shared = "  mode: kafka\n  shared_dir: " + dir + "/shared\n";

  const auto good = job(kafka_source, shared);
  EXPECT_EQ(good.exit_code, 0) << good.output;

  const auto file_source = job("    file: { path: in.jsonl }\n    format: raw\n", shared);
  EXPECT_EQ(file_source.exit_code, 1);
  EXPECT_NE(file_source.output.find("job.yaml:4:5: sources[0]: a scaled-out job reads only Kafka"),
            std::string::npos)
      << file_source.output;

  const auto no_shared_dir = job(kafka_source, "  mode: kafka\n");
  EXPECT_EQ(no_shared_dir.exit_code, 1);
  EXPECT_NE(no_shared_dir.output.find("scale.shared_dir"), std::string::npos)
      << no_shared_dir.output;

  const auto short_session = job(kafka_source, shared + "  session_timeout: 10ms\n");
  EXPECT_EQ(short_session.exit_code, 1);
  EXPECT_NE(short_session.output.find(":13:20: scale.session_timeout: must be at least 1s"),
            std::string::npos)
      << short_session.output;

  const auto bad_mode = job(kafka_source, "  mode: kubernetes\n");
  EXPECT_EQ(bad_mode.exit_code, 1);
  EXPECT_NE(bad_mode.output.find("scale.mode: expected single or kafka, got 'kubernetes'"),
            std::string::npos)
      << bad_mode.output;
}

}  // namespace
}  // namespace eddy
