#pragma once
// KafkaWriter: the producing half of the Kafka sink and the dead-letter
// sink, and where exactly-once delivery is made (docs/exactly-once.md).
//
// In exactly-once mode every record carries four headers: eddy.job (the job
// name), eddy.run (an id created with the job's state, so a job started over
// from empty state is a new run), eddy.batch (the batch id) and eddy.seq (the
// record's position among this writer's records of that batch in that
// partition), plus eddy.task (the task that wrote it; -1 for the batch-wide
// stage) and eddy.sink (the writer). The producer is idempotent with the
// gapless guarantee, so a partition holds an in-order, gap-free prefix of
// what was sent, or the producer fails and the job stops.
//
// Recover() reads, per partition, the newest record this writer (job, sink)
// wrote. Batches are deterministic, so a batch that runs again after a
// crash or a restore sends the same records to the same partitions in the
// same order: Produce skips every record at or before the (batch, seq)
// found there, and the partition ends up with each record once.
//
// Thread-safety: one thread calls everything; delivery reports arrive on
// librdkafka's threads and are counted atomically.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/fence.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"

namespace eddy {

// What a sink promises about the records it writes for a batch that runs
// more than once (after a crash, or a restore from a checkpoint).
enum class Delivery : uint8_t {
  kExactlyOnce,  // every record once, in order
  kAtLeastOnce,  // a batch that runs again is written again
};

// The identity of a job's output, fixed when the job's state was created.
struct OutputIdentity {
  std::string job;
  std::string run;
};

// Where the writer stands in one partition: the newest (batch, seq) it
// knows to be there.
struct LandedPosition {
  int64_t batch = 0;
  int64_t seq = -1;
};

class KafkaWriter {
 public:
  // `writer` names the sink in headers and errors. Connects and reads the
  // topic's partition count (bounded wait); the caller adds its context to
  // an error.
  static Result<std::unique_ptr<KafkaWriter>> Open(const KafkaClientConfig& client,
                                                   std::string topic, std::string writer,
                                                   Delivery delivery);
  // Use Open.
  KafkaWriter(std::string topic, std::string writer, Delivery delivery)
      : topic_name_(std::move(topic)), writer_(std::move(writer)), delivery_(delivery) {}
  ~KafkaWriter();
  KafkaWriter(const KafkaWriter&) = delete;
  KafkaWriter& operator=(const KafkaWriter&) = delete;

  int32_t partition_count() const { return partition_count_; }
  Delivery delivery() const { return delivery_; }

  // Exactly-once: finds what this writer already wrote to each partition
  // under `identity`. REQUIRES: before the first Produce.
  Status Recover(const OutputIdentity& identity);

  // Queues one record for `partition` as part of batch `batch` from task
  // `task`; takes `headers` (may be null). Records already in the partition
  // (see Recover) are dropped here.
  Status Produce(int32_t partition, std::string_view value, std::optional<std::string_view> key,
                 rd_kafka_headers_t* headers, int64_t batch, int32_t task);

  // Waits for every acknowledgement; the first delivery error, if any.
  Status Flush();

  int64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

  // Every Produce and Flush checks `fence` first; once it refuses, what is
  // still queued is dropped and the call fails (runtime/core/fence.h).
  void SetFence(std::shared_ptr<const Fence> fence) { fence_ = std::move(fence); }

 private:
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
  };

  Status Enqueue(int32_t partition, std::string_view value, std::optional<std::string_view> key,
                 rd_kafka_headers_t* headers);
  Status Fenced(Status fenced);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  const std::string topic_name_;
  const std::string writer_;
  const Delivery delivery_;
  KafkaClientConfig client_;
  KafkaHandle producer_;
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic_;
  int32_t partition_count_ = 1;

  std::shared_ptr<const Fence> fence_;
  OutputIdentity identity_;
  std::vector<LandedPosition> landed_;
  // This batch's next sequence number per partition.
  int64_t batch_ = -1;
  std::vector<int64_t> next_seq_;

  uint64_t produced_ = 0;
  std::atomic<int64_t> delivered_{0};
  std::mutex error_mutex_;
  std::string first_error_;
};

}  // namespace eddy
