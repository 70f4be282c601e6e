// A persistent pool in the ggml style: the caller splits work into index ranges and joins it
// before the next op. The calling thread works too, so a pool of N threads starts N - 1 workers.
//
// A decode step joins the pool ~5 times per layer, each time for tens of microseconds of work, so
// handing work over must cost far less than a futex wake-up (5-50 us, more on a busy machine).
// Workers and the joining caller therefore spin on atomics for a short while (kSpin) before they
// block on condition variables; an idle pool sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dpserve::engine {

class ThreadPool {
 public:
  // How long a worker waits for the next job, or the caller for the workers, before sleeping.
  static constexpr std::chrono::microseconds kSpin{200};

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(begin, end) over disjoint chunks covering [0, n) and returns when all are done.
  // Not re-entrant: fn must not call parallel_for on the same pool.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  // job_ and job_n_ are written before generation_ is bumped (release) and read after it is seen
  // (acquire); the caller does not touch them again until pending_ drops to 0.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // Sleeping only: each side takes mu_ between changing an atomic and notifying, so a waiter that
  // checked the atomic under mu_ is either already waiting or sees the change.
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
};

}  // namespace dpserve::engine
