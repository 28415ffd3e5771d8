#pragma once
// Fence: whether this process may still write for a piece of work it was
// given — a scaled-out job's shard (docs/scale-out.md). Its owner, the
// consumer-group member, extends it while the group confirms the ownership
// and revokes it when the group takes the work away; everything that makes
// a write visible (the offsets log, sinks, state commits, checkpoints)
// checks it first. A process frozen past its session (a GC pause, SIGSTOP)
// wakes with an expired fence and stops before writing anything.
//
// A single-process job has no fence (a null pointer): nothing to check.
//
// Thread-safety: every method may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "runtime/core/status.h"

namespace eddy {

class Fence {
 public:
  using Clock = std::chrono::steady_clock;

  // Allows writes until `until` (a later call may move it either way).
  void ExtendUntil(Clock::time_point until) {
    valid_until_ns_.store(until.time_since_epoch().count(), std::memory_order_release);
  }
  // Refuses every write from now on, for `reason`.
  void Revoke(const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reason_ = reason;
    }
    revoked_.store(true, std::memory_order_release);
  }

  // OK while writes are allowed; else Cancelled, saying why.
  Status Check() const {
    if (revoked_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mutex_);
      return Status::Cancelled("fenced: " + reason_);
    }
    if (Clock::now().time_since_epoch().count() >=
        valid_until_ns_.load(std::memory_order_acquire)) {
      return Status::Cancelled(
          "fenced: the consumer group has not confirmed this instance's partitions within its "
          "lease (frozen past the session timeout, or the brokers are out of reach)");
    }
    return Status::OK();
  }

 private:
  std::atomic<int64_t> valid_until_ns_{0};
  std::atomic<bool> revoked_{false};
  mutable std::mutex mutex_;
  std::string reason_;
};

// Check() of a possibly absent fence.
inline Status CheckFence(const Fence* fence) {
  return fence == nullptr ? Status::OK() : fence->Check();
}

}  // namespace eddy
