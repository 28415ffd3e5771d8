#pragma once
// Reading the instances of a scaled-out job from its status topic
// (instance_status.h): what `eddy instances` prints and `GET
// /api/v1/instances` answers.
//
// The rules (ResolveInstances), which hold whatever order records arrive in:
//   - The newest record per instance counts: the highest offset in its
//     partition of the topic (a key always lands in one partition), or the
//     latest written time if the topic was repartitioned.
//   - "stopped" (a clean stop) claims nothing. A record older than
//     kLostAfterSessions session timeouts is "lost" (kill -9, a lost
//     machine, a partition from the brokers): its claims are stale.
//   - Two live records claiming one partition: the claim from the newer
//     group generation wins (the group gave the partition away later), then
//     the later assignment, then the newer record; the other is marked stale,
//     so no partition is ever shown owned twice.
//
// Thread-safety: the functions keep no state.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/status.h"
#include "runtime/scale/instance_status.h"

namespace eddy {

// How many session timeouts an instance may stay silent before a reader
// calls it lost: it heartbeats six times per session timeout, so a live
// instance is never that late unless its brokers are out of reach.
inline constexpr int kLostAfterSessions = 2;
// The session timeout assumed for a record that does not carry one.
inline constexpr int64_t kDefaultSessionTimeoutMs = 10000;

// One record of the status topic, where it was.
struct InstanceStatusRecord {
  InstanceStatus status;
  int32_t partition = 0;
  int64_t offset = 0;
};

// An instance as a reader judges it.
struct InstanceView {
  InstanceStatus status;  // its newest record
  // "running", "stopping", "stopped" or "lost".
  std::string state;
  PartitionsByTopic owned;  // the claims the reader accepts
  PartitionsByTopic stale;  // the claims it does not (lost, stopped, or superseded)
  int64_t age_ms = 0;       // since the record was written (reader's clock)
};

// Applies the rules above to every record read; sorted by instance name.
std::vector<InstanceView> ResolveInstances(const std::vector<InstanceStatusRecord>& records,
                                           int64_t now_unix_ms);

// Reads the whole status topic (it is compacted, and small). NotFound when
// the topic does not exist; records that are not status JSON are skipped
// with a debug line.
Result<std::vector<InstanceStatusRecord>> ReadInstanceStatusRecords(
    const KafkaClientConfig& client, const std::string& topic,
    std::chrono::milliseconds timeout = kBrokerTimeout);

// ReadInstanceStatusRecords, then ResolveInstances at the current time.
Result<std::vector<InstanceView>> ReadInstances(const KafkaClientConfig& client,
                                                const std::string& topic);

// {"job":..., "topic":..., "instances":[{"instance", "state", "reported_state",
// "host", "generation", "partitions", "stale_partitions", "last_seen_ms_ago",
// "batches", "lag", "restores", "restore_seconds", "restored_bytes",
// "api_address", "metrics_address", "written_unix_ms", ...}]}
std::string InstancesToJson(const std::string& job, const std::string& topic,
                            const std::vector<InstanceView>& instances);

// "clicks:0,1,2 clicks.per_page.repartition:3", "-" when empty.
std::string DescribePartitions(const PartitionsByTopic& partitions);

}  // namespace eddy
