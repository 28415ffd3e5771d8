#pragma once
// Counts the process's heap allocations through operator new, for tests
// that check a hot path allocates nothing per row or per batch. Linking
// counting_allocator.cc into a test binary replaces the global operator
// new/delete with versions that count and then call malloc/free; only that
// one binary is affected. What does not go through operator new is not
// counted: C libraries calling malloc themselves (librdkafka, its mock
// broker). std::vector, std::string, std::shared_ptr and RocksDB's C++
// objects all are.
//
// Thread-safety: the counters are atomic; allocations of every thread count.

#include <cstdint>

namespace eddy::testing {

struct AllocationCounts {
  int64_t allocations = 0;  // calls of operator new (any form)
  int64_t bytes = 0;        // bytes those calls asked for

  AllocationCounts operator-(const AllocationCounts& before) const {
    return {allocations - before.allocations, bytes - before.bytes};
  }
};

// The totals since the process started.
AllocationCounts CurrentAllocations();

}  // namespace eddy::testing
