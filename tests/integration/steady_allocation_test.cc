// A steady job allocates nothing per row or per column buffer on its hot
// path (issue 13): the same Kafka → JSON → filter + select → Kafka job runs
// batch after batch with 2,000 and with 20,000 records per batch (four
// partitions), every operator new counted (tests/support/counting_allocator.h),
// and after a few warm-up batches the allocations of a batch must be the
// same small number for both sizes, and their bytes must not grow with the
// rows. What remains per batch is O(1) bookkeeping: the batch report, the
// offsets-log and progress records in RocksDB, the task structs, status
// strings; the bounds below say how much.
//
// The broker is librdkafka's mock cluster in this process; it and
// librdkafka allocate with malloc, which is not counted. The records'
// payloads librdkafka hands over and copies are therefore not counted
// either: what is, is Eddy's own work on them.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "tests/integration/kafka_test_util.h"
#include "tests/support/counting_allocator.h"

namespace eddy {
namespace {

using testing::AllocationCounts;
using testing::CurrentAllocations;

// 4 x 5,000 x 15 batches: within what the embedded broker keeps of a
// partition (~5 MiB).
constexpr int kPartitions = 4;
// Warm-up: the pooled buffers (batch.h) grow to the job's largest columns
// over the first batches, later on a loaded machine, whose thread timing
// varies how many are live at once.
constexpr int kWarmupBatches = 8;
constexpr int kMeasuredBatches = 7;
constexpr int kLargeBatch = 5'000;  // records per partition per batch
constexpr int kSmallBatch = 500;

// Per batch, on top of the small batch's count: what a 10x larger batch may
// add. Doubling growth of a column buffer from 500 to 5,000 rows costs ~3
// allocations per buffer, and the job has dozens of buffers per task.
constexpr int64_t kAllocationSlack = 8;
// Per batch, in bytes, on top of the small batch's: a per-row allocation,
// or a single int64 column buffer built anew, costs more than 144 KB more
// at 20,000 rows than at 2,000.
constexpr int64_t kByteSlack = 64 * 1024;
// What a steady batch may allocate at all, whatever its size: ~310
// allocations, ~45 KB when this test was written, all bookkeeping (the
// offsets-log entry and the progress record as protobufs and paths, the
// RocksDB write and its WAL record, the task structs, the schemas of the
// operators' output batches, the tasks' status strings).
constexpr int64_t kMaxSteadyAllocations = 400;
constexpr int64_t kMaxSteadyBytes = 128 * 1024;

// The job, reading `topic`; `windowed`: a keyed tumbling window (1 s by
// the records' `t`, count and sum per kind) after the filter instead of
// the select, so state in RocksDB is written every batch.
std::string JobYaml(const std::string& bootstrap, const std::string& name, const std::string& topic,
                    const std::string& state_dir, int per_partition, bool windowed) {
  std::string yaml = "name: " + name + "\nkafka:\n  brokers: " + bootstrap +
                     "\n"
                     "sources:\n"
                     "  - name: in\n"
                     "    kafka: { topics: [" +
                     topic +
                     "] }\n"
                     "    format: json\n"
                     "    schema:\n"
                     "      - { name: id, type: int64 }\n"
                     "      - { name: price, type: double }\n"
                     "      - { name: kind, type: string }\n";
  if (windowed) yaml += "      - { name: t, type: timestamp }\n    event_time: { column: t }\n";
  yaml +=
      "operators:\n"
      "  - name: expensive\n"
      "    filter: price > 10\n";
  if (windowed) {
    yaml +=
        "  - name: shaped\n"
        "    window: { key: [kind], type: tumbling, size: 1s,\n"
        "              aggregates: [\"count(*) AS n\", \"sum(price) AS total\"] }\n";
  } else {
    yaml +=
        "  - name: shaped\n"
        "    select: [id, upper(kind) AS kind, price * 2 AS double_price]\n";
  }
  yaml += "sinks:\n  - name: out\n    input: shaped\n    kafka: { topic: " + name +
          "-out, key: \"" + (windowed ? "kind" : "CAST(id AS string)") +
          "\" }\n"
          "    format: json\n"
          "dead_letter:\n"
          "  kafka: { topic: " +
          name +
          "-dlq }\n"
          "trigger: { interval: 1ms, max_records_per_partition: " +
          std::to_string(per_partition) +
          " }\n"
          "checkpoint: { every_batches: 1000 }\n"
          "state: { dir: " +
          state_dir + " }\n";
  return yaml;
}

struct BatchAllocations {
  int64_t records = 0;
  AllocationCounts counts;
  int64_t page_faults = 0;  // minor faults of the process (for the figures)
};

int64_t MinorPageFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

class SteadyAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker =
        EmbeddedBroker::Start({.brokers = 1, .port = 0, .default_partitions = kPartitions});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    dir_ = testing::MakeTempDir("eddy-alloc");
    ASSERT_TRUE(broker_->CreateTopic("events", kPartitions).ok());
    std::vector<testing::TestRecord> records;
    const char* kinds[] = {"view", "click", "purchase"};
    const int per_partition = kLargeBatch * (kWarmupBatches + kMeasuredBatches);
    for (int id = 0; id < per_partition * kPartitions; ++id) {
      char value[128];
      std::snprintf(value, sizeof(value), R"({"id": %d, "price": %g, "kind": "%s"})", id,
                    5.0 + (id * 7) % 13, kinds[id % 3]);
      records.push_back({id % kPartitions, std::nullopt, value, {}});
    }
    testing::ProduceRecords(broker_->bootstrap(), "events", records);
  }

  // Runs the job with batches of `per_partition` records per partition and
  // returns what each batch allocated (from the end of the batch before).
  std::vector<BatchAllocations> Run(const std::string& name, int per_partition,
                                    const std::string& topic = "events", bool windowed = false) {
    testing::WriteFile(dir_ + "/" + name + ".yaml",
                       JobYaml(broker_->bootstrap(), name, topic, dir_ + "/" + name + "-state",
                               per_partition, windowed));
    auto job = LoadJobFile(dir_ + "/" + name + ".yaml");
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok()) return {};
    ConnectorContext context;
    context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
      return Result<std::string>(brokers);
    };
    auto plan = PlanJob(std::move(job).value(), context);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    std::vector<BatchAllocations> batches;
    batches.reserve(kWarmupBatches + kMeasuredBatches);
    AllocationCounts last = CurrentAllocations();
    int64_t last_faults = MinorPageFaults();
    ExecutorOptions options;
    options.once = true;
    options.threads = kPartitions;
    options.max_batches = kWarmupBatches + kMeasuredBatches;
    options.on_batch = [&](const BatchReport& report) {
      const AllocationCounts now = CurrentAllocations();
      const int64_t faults = MinorPageFaults();
      batches.push_back({report.records_in, now - last, faults - last_faults});
      last = CurrentAllocations();
      last_faults = MinorPageFaults();
    };
    auto summary = RunJob(**plan, options);
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return batches;
  }

  // The median over the measured (post warm-up) batches, of the count and
  // of the bytes each. A median, because a few allocations are O(1) per
  // batch on average but come in lumps: RocksDB's memtable takes a 1 MiB
  // block every few hundred batches, the Kafka writer a new 1 MiB payload
  // block when delivery lags. Per-row work and buffers built anew show in
  // every batch, so in the median too.
  static AllocationCounts SteadyMedian(const std::vector<BatchAllocations>& batches) {
    std::vector<int64_t> counts, bytes;
    for (size_t idx = kWarmupBatches; idx < batches.size(); ++idx) {
      counts.push_back(batches[idx].counts.allocations);
      bytes.push_back(batches[idx].counts.bytes);
    }
    std::sort(counts.begin(), counts.end());
    std::sort(bytes.begin(), bytes.end());
    if (counts.empty()) return {};
    return {counts[counts.size() / 2], bytes[bytes.size() / 2]};
  }

  static std::string Describe(const std::vector<BatchAllocations>& batches) {
    std::string text;
    for (const BatchAllocations& batch : batches) {
      text += std::to_string(batch.records) +
              " records: " + std::to_string(batch.counts.allocations) + " allocations, " +
              std::to_string(batch.counts.bytes) + " bytes, " + std::to_string(batch.page_faults) +
              " page faults\n";
    }
    return text;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
};

TEST(CountingAllocator, CountsWhatTheStandardLibraryAllocates) {
  const AllocationCounts before = CurrentAllocations();
  std::vector<int64_t> values(1000);
  values[999] = 1;
  const AllocationCounts after = CurrentAllocations() - before;
  EXPECT_EQ(after.allocations, 1);
  EXPECT_EQ(after.bytes, static_cast<int64_t>(1000 * sizeof(int64_t)));
}

// The pool in batch.h: a column built like the one before it, after that
// one let go of its buffers, takes them and allocates nothing.
TEST(CountingAllocator, AColumnBuiltAgainTakesTheBuffersOfTheLastOne) {
  auto build = [] {
    Column numbers(TypeId::kInt64);
    Column names(TypeId::kString);
    for (int64_t row = 0; row < 10'000; ++row) {
      numbers.AppendInt64(row);
      names.AppendString("a name longer than a short string");
    }
    return numbers.size() + names.size();
  };
  ASSERT_EQ(build(), 20'000u);
  const AllocationCounts before = CurrentAllocations();
  ASSERT_EQ(build(), 20'000u);
  const AllocationCounts again = CurrentAllocations() - before;
  EXPECT_EQ(again.allocations, 0);
  EXPECT_EQ(again.bytes, 0);
}

TEST_F(SteadyAllocationTest, PerBatchAllocationsDoNotGrowWithTheBatchRows) {
  const auto small = Run("small", kSmallBatch);
  const auto large = Run("large", kLargeBatch);
  ASSERT_EQ(small.size(), static_cast<size_t>(kWarmupBatches + kMeasuredBatches));
  ASSERT_EQ(large.size(), static_cast<size_t>(kWarmupBatches + kMeasuredBatches));
  for (size_t idx = 0; idx < small.size(); ++idx) {
    ASSERT_EQ(small[idx].records, kSmallBatch * kPartitions);
    ASSERT_EQ(large[idx].records, kLargeBatch * kPartitions);
  }
  const AllocationCounts small_steady = SteadyMedian(small);
  const AllocationCounts large_steady = SteadyMedian(large);
  const std::string figures =
      "small batches:\n" + Describe(small) + "large batches:\n" + Describe(large);
  std::printf("%s", figures.c_str());
  EXPECT_LE(large_steady.allocations, small_steady.allocations + kAllocationSlack) << figures;
  EXPECT_LE(large_steady.bytes, small_steady.bytes + kByteSlack) << figures;
  // And the O(1) that remains is small: before the buffers were kept, a
  // batch of 20,000 records allocated 7.6 MB in ~860 allocations.
  EXPECT_LE(large_steady.allocations, kMaxSteadyAllocations) << figures;
  EXPECT_LE(large_steady.bytes, kMaxSteadyBytes) << figures;
}

// The same with a keyed window: each batch's records fall in one second of
// event time (one window per kind, fired by the next batch), so both sizes
// write the same keys to RocksDB and emit the same rows per batch.
TEST_F(SteadyAllocationTest, WindowedJobAllocatesPerKeyNotPerRow) {
  const char* kinds[] = {"view", "click", "purchase"};
  // Smaller batches than the other test's: these records are longer, and
  // the broker keeps ~5 MiB of a partition.
  constexpr int kSmallWindowBatch = 300;
  constexpr int kLargeWindowBatch = 3'000;
  for (const int per_partition : {kSmallWindowBatch, kLargeWindowBatch}) {
    const std::string topic = "timed-" + std::to_string(per_partition);
    ASSERT_TRUE(broker_->CreateTopic(topic, kPartitions).ok());
    std::vector<testing::TestRecord> records;
    for (int seq = 0; seq < per_partition * (kWarmupBatches + kMeasuredBatches); ++seq) {
      for (int partition = 0; partition < kPartitions; ++partition) {
        const int id = seq * kPartitions + partition;
        const std::string t = FormatTimestamp(int64_t{1'800'000'000'000'000} +
                                              int64_t{seq / per_partition} * 1'000'000);
        char value[160];
        std::snprintf(value, sizeof(value), R"({"id": %d, "price": %g, "kind": "%s", "t": "%s"})",
                      id, 5.0 + (id * 7) % 13, kinds[id % 3], t.c_str());
        records.push_back({partition, std::nullopt, value, {}});
      }
    }
    testing::ProduceRecords(broker_->bootstrap(), topic, records);
  }
  const auto small =
      Run("window-small", kSmallWindowBatch, "timed-" + std::to_string(kSmallWindowBatch), true);
  const auto large =
      Run("window-large", kLargeWindowBatch, "timed-" + std::to_string(kLargeWindowBatch), true);
  ASSERT_EQ(small.size(), static_cast<size_t>(kWarmupBatches + kMeasuredBatches));
  ASSERT_EQ(large.size(), static_cast<size_t>(kWarmupBatches + kMeasuredBatches));
  const AllocationCounts small_steady = SteadyMedian(small);
  const AllocationCounts large_steady = SteadyMedian(large);
  const std::string figures =
      "small batches:\n" + Describe(small) + "large batches:\n" + Describe(large);
  std::printf("%s", figures.c_str());
  EXPECT_LE(large_steady.allocations, small_steady.allocations + kAllocationSlack) << figures;
  EXPECT_LE(large_steady.bytes, small_steady.bytes + kByteSlack) << figures;
}

}  // namespace
}  // namespace eddy
