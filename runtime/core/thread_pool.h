#pragma once
// A fixed pool of worker threads running the tasks of a micro-batch.
//
// Thread-safety: Run may be called from one thread at a time (the engine's
// driver); tasks run concurrently on the workers.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {

// Runs `fn`, turning an exception it throws into an Internal status naming
// `what`: the boundary where third-party code (the standard library,
// Protobuf) meets Eddy's threads, so a throw fails one job, not the process.
Status RunCatching(std::string_view what, const std::function<void()>& fn);

class ThreadPool {
 public:
  // `threads` 0 means one per hardware thread.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }
  // Runs task(0) .. task(count - 1) on the workers and returns when all have
  // finished: OK, or the first exception a task threw, as a Status (the
  // other tasks still run; the pool stays usable).
  Status Run(size_t count, const std::function<void(size_t)>& task);
  // As Run, in two halves: Start hands task(0) .. task(count - 1) to the
  // workers and returns at once, so the caller can work beside them (the
  // driver writes finished tasks' rows meanwhile); Wait returns when all
  // have finished, with what Run would return. Every Start needs its Wait
  // before the next Start or Run. Unlike Run, a single task runs on a
  // worker too: the caller keeps no per-batch thread of its own, and the
  // workers' thread-local scratch (decoders, filters) lives on.
  void Start(size_t count, std::function<void(size_t)> task);
  Status Wait();

 private:
  // REQUIRES: mutex_ held. Hands task(0) .. task(count - 1) to the workers.
  void HandOutLocked(const std::function<void(size_t)>* task, size_t count);
  // REQUIRES: `lock` holds mutex_. Waits for the handed-out tasks; their
  // first error.
  Status AwaitLocked(std::unique_lock<std::mutex>& lock);
  void WorkerLoop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(size_t)>* task_ = nullptr;
  std::function<void(size_t)> started_;  // the task of a Start
  size_t next_ = 0;
  size_t count_ = 0;
  size_t finished_ = 0;
  Status first_error_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace eddy
