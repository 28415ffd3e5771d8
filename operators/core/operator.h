#pragma once
// Operator: one node of a job's DAG that turns input batches into output
// batches. Operators are compiled once at job load (schemas checked,
// expressions type-checked) and are immutable afterwards: Process is const
// and is called concurrently by the tasks of different partitions, so any
// per-task state lives in the call, and keyed state (later) in state/.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/core/status.h"
#include "runtime/expr/expression.h"
#include "runtime/spec/job_spec.pb.h"
#include "runtime/spec/spec_error.h"

namespace eddy {

class Operator {
 public:
  virtual ~Operator() = default;
  virtual const std::string& name() const = 0;
  virtual const Schema& output_schema() const = 0;
  // Processes `input`, which arrived on input number `input_index`, and
  // appends the resulting rows to `out` (whose schema is output_schema()).
  // Rows that cannot be processed (a failing cast) go to `dead_letters`.
  virtual Status Process(size_t input_index, const Batch& input, Batch* out,
                         DeadLetters* dead_letters) const = 0;
  // One line for plans: "filter (price > 10)".
  virtual std::string Describe() const = 0;

  // Selection vectors (DuckDB's SelectionVector), opt-in on both sides. A
  // filter-like operator says which rows of its input it keeps instead of
  // copying them, and an operator downstream that can reads those rows
  // straight from the filter's input, copying only the columns it needs.
  // The engine's in-task stage (runtime/engine/task_runner.cc) pairs them
  // up and gathers the rows once for any other reader (sinks, batch-wide
  // operators). The row list travels beside the batch, never inside it, so
  // no code can read a selected batch as if it were dense; Process keeps
  // its dense meaning for every operator.
  //
  // True when SelectRows is implemented: the operator's output is always a
  // subset of its one input's rows, in order, with its input's schema.
  virtual bool SelectsRows() const { return false; }
  // Appends to `rows` (cleared first) the ascending numbers of the rows of
  // `input` that Process would keep, dead-lettering rejected rows as
  // Process would. Process(input) must equal input.Gather(*rows).
  virtual Status SelectRows(const Batch& input, std::vector<uint32_t>* rows,
                            DeadLetters* dead_letters) const;
  // True when ProcessSelected does better than the default.
  virtual bool ReadsSelectedRows() const { return false; }
  // Process over rows `rows` (ascending) of `input`: the same output and
  // dead letters as Process(input_index, input.Gather(rows), ...), which
  // is what the default does.
  virtual Status ProcessSelected(size_t input_index, const Batch& input,
                                 std::span<const uint32_t> rows, Batch* out,
                                 DeadLetters* dead_letters) const;
};

// Dead letter for row `row` of `batch`, rejected by `node`: the row as JSON
// and its source position when the batch carries one.
DeadLetter RowDeadLetter(const Batch& batch, size_t row, const std::string& node,
                         std::string reason);

// Sends the rows of `batch` that expressions failed on to `dead_letters`,
// one dead letter per row (with its first error in `errors` order), and
// marks them in `rejected` (one flag per row of `batch`, resized if empty).
void RejectFailedRows(const Batch& batch, const std::vector<RowError>& errors,
                      const std::string& node, std::vector<uint8_t>* rejected,
                      DeadLetters* dead_letters);

// Rejects row `row` of `batch`: marks it in `rejected` (one byte per row)
// and dead-letters it with `reason` (RowDeadLetter) — unless it was rejected
// before, so each row gives one dead letter, with its first reason.
void RejectRow(const Batch& batch, uint32_t row, const std::string& node, std::string reason,
               std::vector<uint8_t>* rejected, DeadLetters* dead_letters);

}  // namespace eddy
