#pragma once
// The aggregates of one window or keyed-aggregate operator, handled together:
// compiled once, then per batch one Accumulators per aggregate, with all of a
// group's aggregate states stored as one RocksDB value (each state prefixed
// with its length).

#include <google/protobuf/repeated_ptr_field.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operators/aggregate/aggregate.h"
#include "runtime/spec/spec_error.h"

namespace eddy {

class AggregateSet {
 public:
  // Compiles `texts`; errors name "<field>[i]".
  static Result<AggregateSet> Compile(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                      const Schema& input, std::string_view field,
                                      const SpecErrorReporter& error_at);

  const std::vector<AggregateCall>& calls() const { return calls_; }
  // "count(*), sum(price)" for signatures.
  std::string Canonical() const;

  // Every call's argument over `input`, once per batch (an empty column for
  // count(*)); rows whose argument fails are added to `errors`.
  std::vector<Column> EvaluateArguments(const Batch& input, std::vector<RowError>* errors) const;

  // Per-batch working state.
  class Groups {
   public:
    explicit Groups(const AggregateSet& set);
    size_t Add();  // a new empty group; returns its index
    size_t size() const { return size_; }
    Status Load(size_t group, std::string_view value);
    void Serialize(size_t group, std::string* out) const;
    // Rows `rows` of the batch whose arguments are `arguments`
    // (EvaluateArguments), with their event times, go to `group_of_row`.
    void Update(const std::vector<Column>& arguments, std::span<const uint32_t> rows,
                std::span<const int64_t> event_times, std::span<const uint32_t> group_of_row);
    void Merge(size_t target, const Groups& other, size_t source);
    // Appends one column per aggregate to `out` for `groups`, in order.
    void Finalize(std::span<const uint32_t> groups, std::vector<Column>* out) const;

   private:
    const AggregateSet* set_;
    std::vector<std::unique_ptr<Accumulators>> accumulators_;
    size_t size_ = 0;
  };

 private:
  std::vector<AggregateCall> calls_;
};

}  // namespace eddy
