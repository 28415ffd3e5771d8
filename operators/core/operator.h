#pragma once
// Operator: one node of a job's DAG that turns input batches into output
// batches. Operators are compiled once at job load (schemas checked,
// expressions type-checked) and are immutable afterwards: Process is const
// and is called concurrently by the tasks of different partitions, so any
// per-task state lives in the call, and keyed state (later) in state/.

#include <functional>
#include <memory>
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

}  // namespace eddy
