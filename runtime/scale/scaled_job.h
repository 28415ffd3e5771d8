#pragma once
// A job run as one of several instances (docs/scale-out.md): `scale: {mode:
// kafka}` in the job file. Every instance started with the same job file
// joins the job's consumer group (group_member.h); the group divides the
// partitions of the job's leading topic among them. Partition p is a shard:
// the whole DAG over partition p of every source topic (co-partitioned, as
// Kafka Streams' tasks), run by the ordinary executor with
//   - its live state local to the instance: STATE_DIR/shards/<p>/;
//   - its checkpoints, offsets log and default dead-letter file on storage
//     every instance reaches: SHARED_DIR/<job>/shards/<p>/, the first
//     checkpoint written before its first batch;
//   - its sinks writing under "<sink>#<p>", so exactly-once recovery finds
//     each shard's own records in a shared output topic;
//   - every write checked against the fence the group gave it.
// When a partition moves, the instance that receives it restores the
// shard's newest checkpoint (or keeps its local state when that is at
// least as new), replays the batches logged since — deterministically, the
// sinks skipping what already landed — and carries on: nothing lost,
// nothing written twice.
//
// Thread-safety: RunScaledJob blocks the calling thread until `stop`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "connectors/connector_factory.h"
#include "runtime/engine/batch_report.h"
#include "runtime/scale/instance_status.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

// The scale section of a job, checked and defaulted.
struct ScaleSettings {
  std::string group;
  std::string instance;
  std::string shared_dir;  // SHARED_DIR/<job>
  std::chrono::milliseconds session_timeout{10000};
  std::string assignment = "range";
  std::string leading_topic;  // its partitions are the shards
};

// True when the job runs scaled out (scale.mode kafka).
bool IsScaledOut(const spec::JobSpec& spec);

// Checks what a scaled-out job needs: Kafka sources and sinks on a broker
// every instance shares, a shared directory, valid settings. Errors name
// the job file, line and key.
Result<ScaleSettings> CheckScaleSettings(const LoadedJob& job);

// What an instance reports about itself.
struct InstanceEvent {
  // kRebalanced: the group gave this instance its assignment for a new
  // generation (once per rebalance; `shard` empty).
  enum class Kind { kAssigned, kRevoked, kRestored, kFenced, kRebalanced };
  Kind kind = Kind::kAssigned;
  // "P" for partition P of the job's leading topic; "OP/P" for partition P
  // of the stage that starts at keyed operator OP (its repartition topic).
  std::string shard;
  // kRestored: from assignment to an open shard (state restored, sinks
  // recovered); the batches logged since its checkpoint replay after.
  double seconds = 0;
  // kRestored: bytes of the checkpoint restored (0: the local state was
  // new enough).
  int64_t bytes = 0;
};

struct ScaledRunOptions {
  const std::atomic<bool>* stop = nullptr;  // required
  size_t threads_per_shard = 1;
  // After every batch of every shard, on the shard's thread.
  std::function<void(const std::string& shard, const BatchReport&)> on_batch;
  // Ownership changes, restores and fencing; on any thread.
  std::function<void(const InstanceEvent&)> on_event;
  // Where this instance serves its instances API and its metrics
  // (HOST:PORT, "" for none): written into its status records so that a
  // reader can reach every instance.
  std::string api_address;
  std::string metrics_address;
  // After each status record is sent (instance_status.h), on the group
  // member's thread or the calling one.
  std::function<void(const InstanceStatus&)> on_status;
};

// The Kafka client settings every instance and reader of `job`'s status
// topic (InstanceStatusTopic) uses: the leading source's brokers as written
// and the job's kafka.properties.
KafkaClientConfig InstanceStatusClient(const LoadedJob& job);

// Runs this instance until `stop`, then hands its partitions back to the
// group (each shard stopping cleanly, with a checkpoint). A shard that
// fails is restarted from its state; an error that no restart can fix (the
// job does not plan) ends the run.
Status RunScaledJob(const LoadedJob& job, const ConnectorContext& context,
                    const ScaledRunOptions& options);

}  // namespace eddy
