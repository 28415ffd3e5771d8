#pragma once
// The instances of a scaled-out job (docs/scale-out.md#the-instances-of-a-job),
// as Kafka Connect's status topic does it: each instance publishes a small
// JSON record about itself to the topic `<job>.instances`, keyed by its
// name — on every assignment change, on every lease renewal of its group
// member (a heartbeat, every sixth of the session timeout) and, on a clean
// stop, a last record with state "stopped". Nothing else is shared: any
// reader (`eddy instances`, `GET /api/v1/instances`) reads the topic, keeps
// the newest record per key and judges them (instance_reader.h).
//
// A record claims only the partitions whose lease (fence) is valid when it
// is written, so an instance frozen past its session claims nothing when it
// wakes; and it carries the group generation of the assignment, so a reader
// that still sees an older claim on a partition next to a newer one knows
// which is stale.
//
// Thread-safety: InstanceStatusPublisher's methods may be called from any
// thread (the group member's poll thread, the instance's main thread).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/status.h"

namespace eddy {

// "<job>.instances": the status topic of job `job_name`.
std::string InstanceStatusTopic(const std::string& job_name);

// Partition numbers per topic, each list sorted.
using PartitionsByTopic = std::map<std::string, std::vector<int32_t>>;

// {"topic":[0,1],...}
std::string PartitionsToJson(const PartitionsByTopic& partitions);

// What one instance says about itself in one record.
struct InstanceStatus {
  std::string instance;  // the record's key: scale.instance
  std::string host;      // the machine (pod) it runs on
  std::string state;     // "running", "stopping" or "stopped"
  // The consumer-group generation of the assignment the partitions come
  // from; -1 when unknown (never assigned, or a client that does not say).
  int64_t generation = -1;
  // When that assignment arrived (Unix ms, the instance's clock).
  int64_t assigned_unix_ms = 0;
  // Owned partitions per topic (the leading topic, each repartition topic),
  // sorted; only those whose lease was valid when the record was written.
  PartitionsByTopic partitions;
  int64_t batches = 0;          // batches run by this instance's shards since it started
  int64_t lag = 0;              // records behind, summed over its shards' last batches
  int64_t restores = 0;         // shards opened after an assignment
  double restore_seconds = 0;   // summed over those
  int64_t restored_bytes = 0;   // checkpoint bytes restored for them
  std::string api_address;      // HOST:PORT of its instances API, "" if none
  std::string metrics_address;  // HOST:PORT of its /metrics, "" if none
  int64_t session_timeout_ms = 0;
  int64_t written_unix_ms = 0;  // when the record was written (its clock)
};

// The record's value, one JSON object.
std::string InstanceStatusToJson(const InstanceStatus& status);
// The inverse; InvalidArgument naming what is wrong.
Result<InstanceStatus> ParseInstanceStatus(std::string_view json);

// Publishes one instance's records to the status topic with its own
// idempotent producer. Records are sent asynchronously; a failed delivery
// is logged (once per distinct error) and replaced by the next heartbeat:
// the status is for people and probes, never for the job's correctness.
class InstanceStatusPublisher {
 public:
  // `write_timeout`: a record not delivered within it is dropped rather
  // than sent late (a stale heartbeat is worse than none). A missing topic
  // is a warning naming how to create it, not an error: the job runs on.
  static Result<std::unique_ptr<InstanceStatusPublisher>> Start(
      const KafkaClientConfig& client, const std::string& topic,
      std::chrono::milliseconds write_timeout);
  // Waits up to the write timeout for records in flight.
  ~InstanceStatusPublisher();
  InstanceStatusPublisher(const InstanceStatusPublisher&) = delete;
  InstanceStatusPublisher& operator=(const InstanceStatusPublisher&) = delete;

  // Sends `status` (its written_unix_ms is set now) keyed by its instance.
  void Publish(InstanceStatus status);
  // Sends `status` and waits up to `timeout` until it is delivered.
  Status PublishAndWait(InstanceStatus status, std::chrono::milliseconds timeout);

  const std::string& topic() const { return topic_; }

 private:
  InstanceStatusPublisher(std::string topic, std::chrono::milliseconds write_timeout)
      : topic_(std::move(topic)), write_timeout_(write_timeout) {}
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  const std::string topic_;
  const std::chrono::milliseconds write_timeout_;
  KafkaHandle producer_;
  std::mutex mutex_;  // one Publish at a time: guards last_error_ too
  rd_kafka_resp_err_t last_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// The wall clock in Unix milliseconds: what records' times are in.
int64_t WallClockMillis();

}  // namespace eddy
