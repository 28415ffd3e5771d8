#pragma once
// The stages of a scaled-out job (docs/scale-out.md#repartitioning). A
// keyed operator — window, aggregate, per-key learner — must see every row
// of a key in one shard. When the job's input is not known to be
// partitioned by that key (a Kafka source's `partitioned_by`), the job
// splits at the operator, as Kafka Streams splits a topology into
// sub-topologies at a repartition:
//
//   - the upstream stage ends in an internal exactly-once Kafka sink
//     `<op>.repartition` writing the operator's input rows (JSON, every
//     column) to the topic `<job>.<op>.repartition`, each row to the
//     partition that owns its key group (kafka.partition_by);
//   - the downstream stage reads that topic as a source with the input's
//     name, schema and event time, and runs the operator and everything
//     after it.
//
// A lookup join whose stream is not partitioned by its `key`, or whose
// table is not partitioned by its `table_key`, splits with both inputs
// repartitioned (Kafka Streams' KStream-KTable join of sides that are not
// co-partitioned): the stream to `<job>.<op>.repartition` by `key`, the
// table to `<job>.<op>.table.repartition` by `table_key`, same partition
// count, same key-group mapping. The join's stage reads both, the stream's
// topic first, and a shard reads partition p of each.
//
// Each stage is an ordinary job spec: its batches are planned, logged and
// replayed from the offsets they read exactly as a single job's, its
// shards are the partitions of its first topic, and the group assigns the
// partitions of every stage's first topic. Splitting happens again inside a
// downstream stage where a later keyed operator needs another key.

#include <string>
#include <vector>

#include "connectors/connector_factory.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

struct JobStage {
  // "" for the stage that reads the job's own sources; else the keyed
  // operator the stage starts at.
  std::string starts_at;
  LoadedJob job;              // the stage as an ordinary job
  std::string leading_topic;  // its partitions are the stage's shards
  // The repartition topics the stage reads (none for the first stage),
  // leading topic first: Eddy's own, created with the leading topic's
  // partition count.
  std::vector<std::string> repartition_topics;
  std::string dir;  // under the state and shared dirs: "shards" or "stages/<op>/shards"
};

// The topic a keyed operator's input goes through (a lookup join's stream).
std::string RepartitionTopic(const std::string& job, const std::string& op);
// The topic a lookup join's table goes through when the join is split.
std::string TableRepartitionTopic(const std::string& job, const std::string& op);

// Splits `job` (checked by CheckScaleSettings) into its stages, the first
// reading the job's sources. Plans the job (connecting nothing) to learn
// every node's schema. Fails, naming the operator, where a split is not
// supported yet: a `predict` whose input would need one or whose learner
// runs in another stage, an operator other than a lookup join reading from
// both sides of a split.
Result<std::vector<JobStage>> SplitIntoStages(const LoadedJob& job,
                                              const ConnectorContext& context);

}  // namespace eddy
