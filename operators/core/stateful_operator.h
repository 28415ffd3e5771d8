#pragma once
// StatefulOperator: a DAG node whose output depends on keyed state kept in
// RocksDB (windows, keyed aggregations, lookup joins, learners).
//
// Stateless operators run inside each partition's task. A stateful operator
// runs once per batch, after every task has finished, over all the rows the
// batch sends it — concatenated in task order, so the order is the same on
// every replay — and writes its state changes into the batch's
// StateWriteBatch, which the engine commits together with the batch's
// source offsets once the outputs are flushed. Its state lives in its own
// table, named after the operator (its stable id in the job file).
//
// Thread-safety: ProcessBatch is called by one thread at a time.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/spec/job_spec.pb.h"
#include "runtime/spec/spec_error.h"
#include "state/state_backend.h"

namespace eddy {

class ThreadPool;

// What a stateful operator reports after its last batch, for the metrics and
// the job API: counters of the batch and gauges after it, by name. The
// learners report "rows_learned", "model_version", "tree_nodes" and
// "tree_depth" (trees), their prequential quality ("rows", "accuracy",
// "window_rmse", ...; operators/learn/learn_operator.h) and, as a series,
// k-means' "cluster_weight" by cluster id.
struct OperatorStatus {
  std::vector<std::pair<std::string, double>> figures;
  std::vector<std::pair<std::string, std::vector<double>>> series;

  // The figure `name`, if reported.
  std::optional<double> Figure(std::string_view name) const {
    for (const auto& [figure, value] : figures) {
      if (figure == name) return value;
    }
    return std::nullopt;
  }
};

struct StatefulBatchContext {
  int64_t batch_id = 0;
  // The operator's input watermark during this batch: rows older than it
  // (less the allowed lateness) are late. nullopt until one is known.
  std::optional<TimestampMicros> watermark;
  // The watermark once this batch's rows are counted; windows that end
  // before it can receive no more rows and fire in this batch.
  std::optional<TimestampMicros> next_watermark;
  // The end of input (bounded sources exhausted, or a run ended with
  // --drain): no rows, and next_watermark is the end of time, so every
  // window fires. State that expires by the watermark (keyed aggregates'
  // ttl) stays: the input ended, event time did not pass.
  bool end_of_input = false;
  const StateTable* table = nullptr;
  StateWriteBatch* writes = nullptr;
  int key_groups = kDefaultKeyGroups;
  // The job's workers, for operators that can use them within a batch (the
  // forest's trees learn in parallel); results must not depend on it.
  // nullptr: run on the calling thread.
  ThreadPool* thread_pool = nullptr;
};

class StatefulOperator {
 public:
  virtual ~StatefulOperator() = default;
  virtual const std::string& name() const = 0;
  // window, aggregate, lookup_join, ...
  virtual std::string kind() const = 0;
  virtual const Schema& output_schema() const = 0;
  // The schema of the operator's side output `<name>.<side_output_name()>`,
  // when it has one: a window's late rows (`.late`), a prequential
  // learner's metrics (`.metrics`).
  virtual const Schema* late_schema() const { return nullptr; }
  virtual std::string side_output_name() const { return "late"; }
  // Canonical text of everything that decides how the state is read; two
  // jobs whose operators have equal signatures can share state.
  virtual std::string Signature() const = 0;
  virtual std::string Describe() const = 0;
  // Needs event time (a watermark) to work.
  virtual bool needs_event_time() const { return false; }
  // Passes the rows of input 0 through (with columns added), so its output
  // keeps input 0's event-time column and watermark: the lookup join (the
  // table does not hold the watermark back) and the learners.
  virtual bool keeps_input_time() const { return false; }

  // True when the operator keeps state in memory between checkpoints
  // rather than writing it into every batch's commit (a large model): the
  // executor asks for it with WriteDeferredState before each checkpoint,
  // and after a crash restores the newest checkpoint and replays the
  // logged batches after it instead of trusting the live state.
  virtual bool DefersState() const { return false; }
  // Writes the state kept in memory since the last call into `writes`.
  virtual Status WriteDeferredState(const StateTable& table, StateWriteBatch* writes) {
    (void)table;
    (void)writes;
    return Status::OK();
  }

  // The operator's status after its last batch; nullopt when it reports
  // none. Safe to call while the job runs.
  virtual std::optional<OperatorStatus> LastBatchStatus() const { return std::nullopt; }

  // Processes all of this batch's rows: `inputs[i]` holds input i's rows.
  // Appends results to `out`, side-output rows (late rows, metrics) to
  // `late` (if any), and rows that cannot be processed to `dead_letters`.
  virtual Status ProcessBatch(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                              Batch* out, Batch* late, DeadLetters* dead_letters) = 0;
};

struct StatefulInput {
  Schema schema;
  // The input's event-time column, if it has one.
  std::optional<std::string> time_column;
  // The stateful operator that produces the input, if it is one (a predict
  // operator takes its model from the learn operator feeding it).
  const StatefulOperator* producer = nullptr;
};

}  // namespace eddy
