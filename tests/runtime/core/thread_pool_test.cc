#include "runtime/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace eddy {
namespace {

TEST(ThreadPool, RunsEveryTaskOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> runs(50);
  ASSERT_TRUE(pool.Run(runs.size(), [&](size_t idx) { ++runs[idx]; }).ok());
  for (const auto& count : runs) EXPECT_EQ(count.load(), 1);
}

TEST(ThreadPool, ATaskThatThrowsFailsTheRunNotTheProcessAndThePoolStaysUsable) {
  ThreadPool pool(2);
  std::atomic<int> finished{0};
  Status status = pool.Run(8, [&](size_t idx) {
    if (idx == 5) throw std::runtime_error("stoll: out of range");
    ++finished;
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(), "task 5 threw: stoll: out of range");
  EXPECT_EQ(finished.load(), 7);  // the others still ran

  std::atomic<int> again{0};
  EXPECT_TRUE(pool.Run(4, [&](size_t) { ++again; }).ok());
  EXPECT_EQ(again.load(), 4);
}

TEST(ThreadPool, ASingleTaskRunsInlineAndIsCaughtToo) {
  ThreadPool pool(2);
  Status status = pool.Run(1, [](size_t) { throw 42; });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "task 0 threw a non-standard exception");
}

// Start/Wait: the caller works while the workers run, and even a single
// task runs on a worker (the executor relies on it: the workers'
// thread-local scratch outlives the batch).
TEST(ThreadPool, StartRunsOnTheWorkersWhileTheCallerWorksAndWaitReportsAThrow) {
  ThreadPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  std::atomic<int> ran{0};
  pool.Start(1, [&](size_t) {
    on_caller = std::this_thread::get_id() == caller;
    ++ran;
  });
  EXPECT_TRUE(pool.Wait().ok());
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(on_caller.load());

  pool.Start(5, [&](size_t idx) {
    if (idx == 3) throw std::runtime_error("three");
    ++ran;
  });
  Status status = pool.Wait();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "task 3 threw: three");
  EXPECT_EQ(ran.load(), 5);

  pool.Start(0, [&](size_t) { ++ran; });
  EXPECT_TRUE(pool.Wait().ok());
  EXPECT_EQ(ran.load(), 5);
}

}  // namespace
}  // namespace eddy
