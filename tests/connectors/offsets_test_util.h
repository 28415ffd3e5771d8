#pragma once
// Offsets written as plain numbers in tests, and printed as numbers when an
// expectation fails.

#include <cstdint>
#include <initializer_list>
#include <ostream>

#include "connectors/core/source.h"

namespace eddy {

inline void PrintTo(Offset offset, std::ostream* out) { *out << offset.value; }
inline void PrintTo(PartitionId partition, std::ostream* out) { *out << partition.value; }

namespace testing {

inline Offsets OffsetsOf(std::initializer_list<int64_t> values) {
  Offsets offsets;
  offsets.reserve(values.size());
  for (int64_t value : values) offsets.push_back(Offset{value});
  return offsets;
}

}  // namespace testing
}  // namespace eddy
