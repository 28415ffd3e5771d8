#pragma once
// KafkaWriter: the producing half of the Kafka sink and the dead-letter
// sink, and where exactly-once delivery is made (docs/exactly-once.md).
//
// In exactly-once mode every record carries one small binary header,
// eddy.run (record_header.h): the writer's fingerprint (its job name, run
// id — created with the job's state, so a job started over from empty state
// is a new run — and sink name), the record's batch id, its sequence number
// among this writer's records of that batch in that partition, and the task
// that wrote it (-1 for the batch-wide stage). The producer is idempotent
// with the gapless guarantee, so a partition holds an in-order, gap-free
// prefix of what was sent, or the producer fails and the job stops.
//
// Recover() reads, per partition, the newest record this writer wrote.
// Batches are deterministic, so a batch that runs again after a crash or a
// restore sends the same records to the same partitions in the same order:
// Produce skips every record at or before the (batch, seq) found there, and
// the partition ends up with each record once. Only offsets at or after the
// writer's recorded Position() can hold records of the batches that run
// again, so that is where the scan stops; every partition is scanned at
// once, by one consumer.
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
#include "connectors/kafka/payload_arena.h"
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

// What the job's state knows when a writer recovers (connectors/core/sink.h).
struct RecoveryStart {
  // The state was created now: nothing of this run can be in the topic.
  bool new_run = false;
  // The writer's Position() before the first batch to run; empty when the
  // state has none (it was written by an older Eddy): the scan is then
  // bounded by the partition's start only.
  std::string position;
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
  // under `identity`, at or after `start.position`. REQUIRES: before the
  // first Produce.
  Status Recover(const OutputIdentity& identity, const RecoveryStart& start = {});

  // Exactly-once: per partition, the offset at or after which this writer's
  // next records land (what it saw at Recover, or after its last
  // acknowledged record), as EncodeOffsets text; empty at least once. Exact
  // after a Flush.
  std::string Position() const;

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
  // Every partition's [low, high) watermarks, in one request per broker.
  Status QueryWatermarks(std::vector<int64_t>* low, std::vector<int64_t>* high);
  // The newest record of this writer per partition in [floor, high).
  Status ScanTails(const std::vector<int64_t>& floor, const std::vector<int64_t>& high);
  Status Fenced(Status fenced);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  const std::string topic_name_;
  const std::string writer_;
  const Delivery delivery_;
  KafkaClientConfig client_;
  // Queued records' payloads; outlives the producer, which may still hold
  // records when it is destroyed.
  PayloadArena payloads_;
  KafkaHandle producer_;
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic_;
  int32_t partition_count_ = 1;

  std::shared_ptr<const Fence> fence_;
  OutputIdentity identity_;
  uint64_t fingerprint_ = 0;  // WriterFingerprint of (job, run, writer)
  std::vector<LandedPosition> landed_;
  // Per partition: the offset after this writer's newest acknowledged
  // record, or the high watermark at Recover (written by delivery reports).
  std::unique_ptr<std::atomic<int64_t>[]> next_offset_;
  // This batch's next sequence number per partition.
  int64_t batch_ = -1;
  std::vector<int64_t> next_seq_;

  uint64_t produced_ = 0;
  std::atomic<int64_t> delivered_{0};
  std::mutex error_mutex_;
  std::string first_error_;
};

}  // namespace eddy
