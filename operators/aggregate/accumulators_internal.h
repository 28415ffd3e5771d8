#pragma once
// Engine-internal pieces of the aggregate functions (operators/window/
// aggregate.h): one factory per accumulator family, used by MakeAccumulators,
// and the fixed hash and sketch parameters, exposed so tests can pin them.
//
// Serialized group state (docs/aggregates.md) always starts with a 3-byte
// header: format version (kStateVersion), AggregateKind, argument TypeId.
// Load rejects a header that differs from the accumulator's own, so state
// written for another function or argument type reads as Corruption rather
// than as garbage numbers.

#include <cstdint>
#include <memory>
#include <string_view>

#include "operators/aggregate/aggregate.h"
#include "runtime/core/hash.h"
#include "runtime/core/types.h"

namespace eddy::agg {

inline constexpr uint8_t kStateVersion = 1;

using ::eddy::XxHash64;

// HyperLogLog: 2^14 registers (standard error 1.04 / sqrt(16384) = 0.81%).
// A group keeps the exact set of 64-bit hashes while it has at most
// kHllSparseLimit of them, so small counts are exact.
inline constexpr int kHllPrecision = 14;
inline constexpr size_t kHllSparseLimit = 1024;

// DDSketch: relative accuracy 1%, at most kDdMaxBuckets buckets per sign.
inline constexpr double kDdRelativeAccuracy = 0.01;
inline constexpr int32_t kDdMaxBuckets = 2048;

// `argument_type` is the argument's type (ignored for count(*)).
std::unique_ptr<Accumulators> MakeCountAccumulators(bool count_star);
std::unique_ptr<Accumulators> MakeSumAccumulators(TypeId argument_type);
std::unique_ptr<Accumulators> MakeMinMaxAccumulators(AggregateKind kind, TypeId argument_type);
std::unique_ptr<Accumulators> MakeAvgAccumulators(TypeId argument_type);
std::unique_ptr<Accumulators> MakeMomentAccumulators(AggregateKind kind, TypeId argument_type);
std::unique_ptr<Accumulators> MakeCountDistinctAccumulators(TypeId argument_type);
std::unique_ptr<Accumulators> MakeHllAccumulators(TypeId argument_type);
std::unique_ptr<Accumulators> MakeFirstLastAccumulators(AggregateKind kind, TypeId argument_type);
std::unique_ptr<Accumulators> MakePercentileAccumulators(TypeId argument_type, double q);

}  // namespace eddy::agg
