#pragma once
// The micro-batch executor: the loop that turns a JobPlan into running work.
//
// Each batch goes through named steps, each in its own file:
//   1. plan the batch (batch_planner.h): ask every source what is available
//      and fix each partition's offset range, capped per partition — or take
//      the batch as the offsets log recorded it, when it runs again;
//   2. log it (batch_planner.h): the ranges are durable before they run;
//   3. read and run the in-task stages (task_runner.h): one task per source
//      partition, in parallel, reading its range and pushing the rows
//      through the stateless operators;
//   4. write sinks (sink_writer.h): the tasks' outputs in task order from
//      this thread while later tasks still run;
//   5. run the batch-wide stage (stateful_stage.h): stateful operators and
//      what depends on them, over all tasks' rows in task order;
//   6. commit state (job_state.h): once the outputs are acknowledged, the
//      state changes and the new positions in one RocksDB write;
//   7. checkpoint (checkpointer.h), every N batches or T seconds.
// Event time and positions per partition are kept in source_positions.h.
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

#include "runtime/engine/batch_report.h"
#include "runtime/engine/job_plan.h"

namespace eddy {

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
  // At the end of the run — what was available processed (once mode, a
  // drain) or a stop requested — run one last batch under the final
  // watermark so that every open window fires (Flink's `stop --drain`).
  // Jobs whose sources are all bounded do this when they are exhausted
  // anyway. The stream may go on: rows that arrive later for a window
  // already fired open it again.
  bool drain_windows = false;
  // Worker threads for fetch and process tasks; 0 = one per hardware thread.
  size_t threads = 0;
  // Stop after this many batches (0: no limit).
  int64_t max_batches = 0;
  size_t samples_per_batch = 0;
  // Start from this checkpoint directory (a chk-... path) instead of the
  // job's latest state.
  std::string from_checkpoint;
  std::function<void(const BatchReport&)> on_batch;
  // Called once the job is open: state restored, sinks recovered, before
  // the first batch (logged batches replay after it). `restored_bytes`: the
  // size of the checkpoint the state was restored from (0: the live state
  // or a new one).
  std::function<void(int64_t restored_bytes)> on_open;
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
