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
#include <vector>

#include "runtime/batch.h"
#include "runtime/dead_letter.h"
#include "runtime/job_spec.pb.h"
#include "runtime/spec_error.h"
#include "state/state_backend.h"

namespace eddy {

struct StatefulBatchContext {
  int64_t batch_id = 0;
  // The operator's input watermark during this batch: rows older than it
  // (less the allowed lateness) are late. nullopt until one is known.
  std::optional<TimestampMicros> watermark;
  // The watermark once this batch's rows are counted; windows that end
  // before it can receive no more rows and fire in this batch.
  std::optional<TimestampMicros> next_watermark;
  const StateTable* table = nullptr;
  StateWriteBatch* writes = nullptr;
  int key_groups = kDefaultKeyGroups;
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

// Builds the stateful operator `spec` (window, aggregate or lookup_join);
// nullptr-free: InvalidArgument via `error_at` for a bad spec.
Result<std::unique_ptr<StatefulOperator>> MakeStatefulOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at);

// True for the operator kinds MakeStatefulOperator builds.
bool IsStateful(const spec::OperatorSpec& spec);

}  // namespace eddy
