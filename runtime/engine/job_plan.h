#pragma once
// A compiled job: the DAG with every node's schema known, operators and
// expressions type-checked, sources and sinks built but not yet connected.
// Built by PlanJob from a LoadedJob; run by the executor; printed by
// `eddy validate`.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector_factory.h"
#include "operators/core/operator.h"
#include "operators/core/stateful_operator.h"
#include "runtime/expr/expression.h"
#include "runtime/spec/job_dag.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

struct PlanNode {
  DagNode dag;                      // name, kind, spec index, inputs
  std::vector<size_t> input_nodes;  // indices into JobPlan::nodes
  std::vector<size_t> consumers;    // indices into JobPlan::nodes
  // A source's or operator's output schema; a sink's input schema.
  Schema schema;
  const Operator* op = nullptr;          // stateless operators; owned by JobPlan
  StatefulOperator* stateful = nullptr;  // stateful operators; owned by JobPlan
  // For a side output ("W.late", "P.metrics"): the node index of the
  // operator whose side output this node carries.
  std::optional<size_t> late_of;
  // Runs inside each partition's task (sources, stateless operators on
  // in-task inputs, and sinks of those); otherwise once per batch after all
  // tasks, over their rows in task order.
  bool in_task = true;
  // The event-time column of the node's rows, when known.
  std::optional<std::string> time_column;
  // Source spec indexes upstream of (or equal to) this node: its watermark
  // is the minimum of theirs.
  std::vector<size_t> upstream_sources;
};

// Event time of one source.
struct SourceEventTime {
  std::optional<size_t> column;  // index in the source's schema
  int64_t max_out_of_orderness = 0;
  int64_t idle_timeout = 0;  // 0: a partition never counts as idle
};

struct JobPlan {
  LoadedJob job;
  std::vector<PlanNode> nodes;                       // topological order
  std::vector<std::unique_ptr<Source>> sources;      // by spec index
  std::vector<std::unique_ptr<Operator>> operators;  // by spec index; null when stateful
  std::vector<std::unique_ptr<StatefulOperator>> stateful_operators;  // by spec index
  std::vector<std::unique_ptr<Sink>> sinks;                           // by spec index
  // Per sink (spec index): its kafka.partition_by keys, compiled against its
  // input; empty when the sink does not route by key group.
  std::vector<std::vector<NamedExpression>> sink_partition_by;
  std::unique_ptr<DeadLetterSink> dead_letter;
  // The live RocksDB state (db/) lives in state_dir; checkpoints and the
  // offsets log in durable_dir. They are one directory, except for a shard
  // of a scaled-out job: its live state is local to the instance, its
  // checkpoints and log on storage every instance reaches.
  std::string state_dir;
  std::string durable_dir;
  // The shard's fence (null for a single-process job): checked before
  // every write that others can see.
  std::shared_ptr<const Fence> fence;
  int64_t trigger_interval_micros = 1000000;
  int64_t max_records_per_partition = 100000;
  std::vector<SourceEventTime> event_time;  // by source spec index
  int key_groups = 128;
  StateBudget state_budget;
  int64_t checkpoint_every_batches = 10;
  int64_t checkpoint_interval_micros = 0;  // 0: by batch count only
  int checkpoint_keep = 3;

  // The DAG, one node per line with its schema, for `eddy validate`.
  std::string Describe() const;
};

// Compiles `job`. Every error names the job file, line and key.
Result<std::unique_ptr<JobPlan>> PlanJob(LoadedJob job, ConnectorContext context);

// The job's state directory: state.dir, else ./eddy-state/<name>, resolved
// against the job file's directory when relative.
std::string StateDirectory(const LoadedJob& job);

}  // namespace eddy
