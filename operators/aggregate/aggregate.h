#pragma once
// Aggregate functions of window and keyed aggregations, computed a batch at a
// time over many groups (a group = one key, or one key and window).
//
// Per batch an operator: makes Accumulators for each aggregate; adds one
// group per (key, window) the batch touches; Loads each group's stored state
// (from RocksDB); Updates with the batch's rows (one call per aggregate per
// batch, rows mapped to groups); Serializes the groups back to state; and
// Finalizes the groups it emits. Session windows Merge groups.
//
// Every accumulator is deterministic: the same rows in the same order give
// the same bytes and results. Serialized state has a version byte.
//
// Thread-safety: a compiled AggregateCall is immutable; an Accumulators
// instance is used by one thread.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "runtime/core/batch.h"
#include "runtime/core/status.h"
#include "runtime/expr/expression.h"

namespace eddy {

enum class AggregateKind {
  kCount,  // count(*) or count(x): rows, or non-NULL x
  kSum,    // int64 for int64 input, else double; NULL when no input
  kMin,
  kMax,                  // any ordered type (int64, double, string, timestamp, bool)
  kAvg,                  // double
  kStddev,               // sample standard deviation (n - 1), double; NULL below 2 rows
  kVariance,             // sample variance
  kCountDistinct,        // exact, int64
  kApproxCountDistinct,  // HyperLogLog, int64; relative error documented
  kFirst,                // value of the row with the smallest event time (ties: first seen)
  kLast,                 // value of the row with the largest event time (ties: last seen)
  kApproxPercentile,     // approx_percentile(x, q), double; relative error documented
};

struct AggregateCall {
  AggregateKind kind;
  std::string name;  // output column name ("AS name", or the call's text)
  // The argument; null for count(*).
  std::unique_ptr<Expression> argument;
  // approx_percentile's q in [0, 1].
  double parameter = 0;
  TypeId result_type = TypeId::kInt64;
  bool result_nullable = true;
  // Canonical text, e.g. "sum(price)"; part of the operator's state
  // signature (a change means stored state would be misread).
  std::string canonical;
};

// Parses "function(argument[, parameter]) [AS name]" and type-checks the
// argument against `input`. Errors: InvalidArgument ("unknown aggregate
// 'summ' (did you mean sum?)", "sum needs a numeric argument, got string").
Result<AggregateCall> CompileAggregate(std::string_view text, const Schema& input);

class Accumulators {
 public:
  virtual ~Accumulators() = default;

  // Appends `count` empty groups.
  virtual void AddGroups(size_t count) = 0;
  virtual size_t size() const = 0;
  // Restores `group` (which must be empty) from Serialize's bytes.
  // Corruption when they do not parse.
  virtual Status Load(size_t group, std::string_view serialized) = 0;
  // Adds rows to groups: row r of the batch goes to group group_of_row[r].
  // `values` is the argument evaluated over the batch (null for count(*));
  // `event_times` the rows' event times (used by first and last).
  virtual void Update(const Column* values, std::span<const int64_t> event_times,
                      std::span<const uint32_t> group_of_row) = 0;
  // Folds group `source` of `other` (same call) into group `target`.
  virtual void Merge(size_t target, const Accumulators& other, size_t source) = 0;
  // Appends `group`'s state to `out`.
  virtual void Serialize(size_t group, std::string* out) const = 0;
  // Appends the final value of each listed group to `out` (result_type).
  virtual void Finalize(std::span<const uint32_t> groups, Column* out) const = 0;
};

std::unique_ptr<Accumulators> MakeAccumulators(const AggregateCall& call);

}  // namespace eddy
