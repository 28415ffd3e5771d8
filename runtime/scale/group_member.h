#pragma once
// GroupMember: one instance's membership in a scaled-out job's consumer
// group (docs/scale-out.md). Kafka's group protocol decides which instance
// owns which partition of the job's leading topic; each owned partition is
// a shard the instance runs. The member consumes nothing: it subscribes,
// keeps every assigned partition paused, and polls so that the group sees
// it alive.
//
// Fencing: each assignment of a partition comes with a Fence (a lease).
// The member extends the leases of its partitions after each commit the
// group coordinator accepts — a commit is checked against the member's
// generation, so an instance the group expelled cannot renew — and revokes
// them when the partitions go. A frozen instance therefore wakes with
// expired leases and writes nothing, even before librdkafka tells it that
// its partitions are gone.
//
// Thread-safety: the listener is called on the member's poll thread, one
// call at a time; Stop and the accessors from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/fence.h"
#include "runtime/core/status.h"

namespace eddy {

struct GroupMemberOptions {
  KafkaClientConfig client;
  std::string group;
  std::string instance;  // group.instance.id; empty: dynamic membership
  // The leading topic of every stage of the job: their partitions are the
  // shards, divided among the instances by one assignment.
  std::vector<std::string> topics;
  std::chrono::milliseconds session_timeout{10000};
  std::string assignment = "range";  // partition.assignment.strategy
  // Called on the poll thread after each assignment, each revocation and
  // each round of lease renewals (every sixth of the session timeout), so
  // the instance can publish its status without a thread of its own.
  std::function<void()> on_heartbeat;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  std::string ToString() const { return topic + "/" + std::to_string(partition); }
};

// What the member tells the instance, on the member's thread.
class ShardListener {
 public:
  virtual ~ShardListener() = default;
  // `partition` is now this instance's, writable while `fence` allows.
  virtual void Assigned(const TopicPartition& partition, std::shared_ptr<const Fence> fence) = 0;
  // `partitions` are being taken away. The instance stops their work before
  // returning (their fences still allow a last commit and checkpoint,
  // unless `lost`: then the group has already given them to another
  // instance and the fences are revoked first).
  virtual void Revoked(const std::vector<TopicPartition>& partitions, bool lost) = 0;
  // The next offset of `partition` the instance has committed to its state,
  // if known: what the member commits to the group for lag tools.
  virtual std::optional<int64_t> NextOffset(const TopicPartition& partition) = 0;
  // The group finished a rebalance: this instance's assignment for the new
  // generation was just handed out (an eager rebalance assigns every
  // instance anew, with or without partitions).
  virtual void Rebalanced() {}
};

class GroupMember {
 public:
  // Joins the group and starts polling. `listener` must outlive the member.
  static Result<std::unique_ptr<GroupMember>> Start(GroupMemberOptions options,
                                                    ShardListener* listener);
  ~GroupMember();
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  // Leaves the group: the listener sees its partitions revoked (a clean
  // handover), then the poll thread ends. Idempotent.
  void Stop();

  // Rebalances this member took part in (assignments received).
  int64_t rebalances() const { return rebalances_.load(); }
  std::vector<TopicPartition> owned() const;
  // The group generation of the current assignment, -1 before the first
  // (or when librdkafka does not say, see GroupGeneration in the .cc).
  int64_t generation() const { return generation_.load(); }
  // When the current assignment arrived (Unix ms).
  int64_t assigned_unix_ms() const { return assigned_unix_ms_.load(); }
  // How long a lease lasts after the commit that renewed it.
  std::chrono::milliseconds lease() const { return options_.session_timeout / 2; }

 private:
  GroupMember(GroupMemberOptions options, ShardListener* listener)
      : options_(std::move(options)), listener_(listener) {}

  Status Connect();
  void PollLoop();
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  void Assign(rd_kafka_topic_partition_list_t* partitions);
  void Revoke(rd_kafka_topic_partition_list_t* partitions);
  // Commits the owned partitions' offsets; on success, extends their leases.
  void Renew();
  static void RebalanceCallback(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque);

  const GroupMemberOptions options_;
  ShardListener* const listener_;
  KafkaHandle consumer_;
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> rebalances_{0};
  std::atomic<int64_t> generation_{-1};
  std::atomic<int64_t> assigned_unix_ms_{0};

  struct OwnedPartition {
    TopicPartition partition;
    std::shared_ptr<Fence> fence;
    int64_t fallback_offset = 0;  // committed when the instance knows none yet
  };
  mutable std::mutex mutex_;  // guards owned_ (written on the poll thread)
  std::vector<OwnedPartition> owned_;
  std::chrono::steady_clock::time_point next_renewal_;
};

}  // namespace eddy
