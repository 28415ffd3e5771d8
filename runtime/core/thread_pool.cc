#include "runtime/core/thread_pool.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace eddy {

Status RunCatching(std::string_view what, const std::function<void()>& fn) {
  try {
    fn();
    return Status::OK();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Status::Internal(std::string(what) + " threw a non-standard exception");
  }
}

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (size_t idx = 0; idx < threads; ++idx) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

Status ThreadPool::Run(size_t count, const std::function<void(size_t)>& task) {
  if (count == 0) return Status::OK();
  if (count == 1) {  // no hand-off for the common single-partition case
    return RunCatching("task 0", [&] { task(0); });
  }
  std::unique_lock<std::mutex> lock(mutex_);
  HandOutLocked(&task, count);
  return AwaitLocked(lock);
}

void ThreadPool::Start(size_t count, std::function<void(size_t)> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = std::move(task);
  HandOutLocked(&started_, count);
}

Status ThreadPool::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  return AwaitLocked(lock);
}

void ThreadPool::HandOutLocked(const std::function<void(size_t)>* task, size_t count) {
  task_ = task;
  next_ = 0;
  count_ = count;
  finished_ = 0;
  first_error_ = Status::OK();
  ++generation_;
  work_ready_.notify_all();
}

Status ThreadPool::AwaitLocked(std::unique_lock<std::mutex>& lock) {
  work_done_.wait(lock, [this] { return finished_ == count_; });
  task_ = nullptr;
  started_ = nullptr;
  return std::exchange(first_error_, Status::OK());
}

void ThreadPool::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return stop_ || (task_ != nullptr && next_ < count_); });
    if (stop_) return;
    const size_t index = next_++;
    const auto* task = task_;
    lock.unlock();
    Status status = RunCatching("task " + std::to_string(index), [&] { (*task)(index); });
    lock.lock();
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
    if (++finished_ == count_) work_done_.notify_all();
  }
}

}  // namespace eddy
