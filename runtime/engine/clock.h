#pragma once
// The clock the executor's steps time themselves and trigger batches with.

#include <chrono>

namespace eddy {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace eddy
