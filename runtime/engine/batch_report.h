#pragma once
// What the executor reports: one BatchReport per batch (rows per node,
// phases, positions, watermarks, checkpoints, operator status), and a
// RunSummary when the run ends. Read by the progress log, the metrics and
// the server.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operators/core/stateful_operator.h"
#include "runtime/core/types.h"
#include "runtime/spec/job_dag.h"

namespace eddy {

// Rows through one DAG node in one batch. Bytes are the in-memory size of
// the node's columnar output (sources: decoded rows; sinks: rows handed to
// the sink; a filter in a task, whose rows are not copied: its input's
// size scaled by the share of rows kept).
struct NodeStats {
  std::string name;
  DagNode::Kind kind = DagNode::Kind::kSource;
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t bytes_out = 0;
  int64_t dead_letters = 0;
  // Wall time in the node's operator, for nodes of the batch-wide stage
  // (stateful operators and what follows them); 0 for in-task nodes, whose
  // time is the tasks' process_seconds.
  double seconds = 0;
};

// A source partition's position after the batch and what was available.
struct PartitionProgress {
  std::string source;
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  int64_t latest_offset = 0;
};

struct BatchReport {
  int64_t batch_id = 0;
  int64_t records_in = 0;
  // Records the sinks wrote: not those an exactly-once sink skipped on a
  // batch that ran again (an earlier run delivered them), nor those a sink
  // could not encode (dead letters).
  int64_t records_out = 0;
  int64_t dead_letters = 0;
  int64_t lag = 0;  // records available but not yet processed, after this batch
  // Wall time from the batch's start until its tasks start: the sources'
  // end offsets, the plan and its offsets-log entry.
  double plan_seconds = 0;
  // Reading and decoding, then running the DAG, each summed over the
  // batch's tasks (which run in parallel, so the sum may exceed the wall
  // time).
  double fetch_seconds = 0;
  double process_seconds = 0;
  // Wall time this thread spent writing, flushing and waiting for
  // acknowledgements.
  double sink_seconds = 0;
  double total_seconds = 0;
  // A few output rows, "sink: row", for people watching the progress.
  std::vector<std::string> samples;
  // One entry per DAG node, in plan order.
  std::vector<NodeStats> nodes;
  // One entry per source partition.
  std::vector<PartitionProgress> partitions;
  // Seconds from each sampled output row's source record timestamp (the
  // Kafka timestamp, or the generator's event time) to its acknowledgement
  // by the sink; at most ~1000 samples per batch.
  std::vector<double> latency_samples;
  // Per source (spec order): its watermark after this batch, if it has one.
  std::vector<std::pair<std::string, std::optional<TimestampMicros>>> watermarks;
  // Rows stateful operators received too late (sent to their late outputs),
  // in all and per operator with a late output (plan order; 0 included, so
  // a counter exists before the first late row).
  int64_t late_records = 0;
  std::vector<std::pair<std::string, int64_t>> late_by_operator;
  // Per source (spec order, 0 included): records deleted by retention
  // before the batch read them, skipped under on_lost_input: skip.
  std::vector<std::pair<std::string, int64_t>> lost_by_source;
  // A checkpoint was written after this batch.
  bool checkpointed = false;
  double checkpoint_seconds = 0;
  uint64_t checkpoint_bytes = 0;
  std::string checkpoint_error;  // a failed checkpoint does not fail the job
  // Per stateful operator: RocksDB's estimates of its state after the batch.
  struct StateSize {
    std::string op;
    uint64_t bytes = 0;
    uint64_t estimated_keys = 0;
  };
  std::vector<StateSize> state_sizes;
  // Per stateful operator that reports a status (plan order; learners:
  // what they learned in this batch, model version and shape, quality).
  std::vector<std::pair<std::string, OperatorStatus>> operator_status;
};

struct RunSummary {
  int64_t batches = 0;
  int64_t records_in = 0;
  int64_t records_out = 0;
  int64_t dead_letters = 0;
  double seconds = 0;
};

}  // namespace eddy
