#pragma once
// The micro-batch executor: the loop that turns a JobPlan into running work.
//
// Each batch: (1) plan — ask every source what is available and fix each
// partition's offset range, capped per partition; (2) fetch — read every
// non-empty range in parallel, one task per source partition; (3) process —
// push each task's rows through the DAG in parallel; (4) sink — write the
// tasks' outputs in task order from this thread, then flush and wait for
// acknowledgements; (5) advance the offsets.
//
// Determinism: ranges depend only on offsets and what is available, tasks
// never share mutable state, and outputs are written in a fixed order, so
// the same input ranges give the same outputs in the same per-partition order
// however the threads interleave.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine/job_plan.h"

namespace eddy {

// Rows through one DAG node in one batch. Bytes are the in-memory size of
// the node's columnar output (sources: decoded rows; sinks: rows handed to
// the sink).
struct NodeStats {
  std::string name;
  DagNode::Kind kind = DagNode::Kind::kSource;
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t bytes_out = 0;
  int64_t dead_letters = 0;
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
  int64_t records_out = 0;  // rows handed to sinks
  int64_t dead_letters = 0;
  int64_t lag = 0;  // records available but not yet processed, after this batch
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
  // Rows stateful operators received too late (sent to their late outputs).
  int64_t late_records = 0;
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

struct ExecutorOptions {
  // Process what is available at start, then return (Spark's AvailableNow).
  bool once = false;
  // Set to stop after the current batch (SIGTERM, Ctrl-C).
  const std::atomic<bool>* stop = nullptr;
  // Set (with `stop`) to end without the final checkpoint a clean stop
  // writes: Flink's cancel. Committed batches stay in the live state.
  const std::atomic<bool>* cancel = nullptr;
  // Once set, behave as in once mode from the next batch on: stop as soon as
  // everything available has been processed.
  const std::atomic<bool>* drain = nullptr;
  // Worker threads for fetch and process tasks; 0 = one per hardware thread.
  size_t threads = 0;
  // Stop after this many batches (0: no limit).
  int64_t max_batches = 0;
  size_t samples_per_batch = 0;
  // Start from this checkpoint directory (a chk-... path) instead of the
  // job's latest state.
  std::string from_checkpoint;
  std::function<void(const BatchReport&)> on_batch;
  // Set to ask for a checkpoint (a savepoint) at the next batch boundary,
  // even when the job is idle; the executor clears it once written (or
  // failed). Nothing is written before the job's first batch.
  std::atomic<bool>* checkpoint_requested = nullptr;
  // Called after every checkpoint written, including the final one of a
  // clean stop: its chk-... directory and batch id.
  std::function<void(const std::string& path, int64_t batch_id)> on_checkpoint;
};

// Opens the plan's connectors and runs batches until the sources are
// exhausted (once mode or bounded sources), a stop is requested or an error
// occurs.
Result<RunSummary> RunJob(JobPlan& plan, const ExecutorOptions& options);

}  // namespace eddy
