// Hands scheduler outputs to the io thread serving the request. Scheduler callbacks (any thread,
// must not block) push under a mutex and post a wake-up to the request's executor; the handler
// coroutine drains the queue and otherwise sleeps on a timer. Because each io_context runs on one
// thread, the check-then-wait in wait() cannot miss a wake-up.
#pragma once

#include "common/http/beast.h"
#include "engine/sched/request.h"

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace dpserve::engine {

class OutputQueue : public std::enable_shared_from_this<OutputQueue> {
 public:
  using Item = std::pair<size_t, RequestOutput>;  // (which sub-request, output)

  explicit OutputQueue(http::net::any_io_executor executor) : executor_(std::move(executor)) {}

  // Any thread.
  void push(size_t tag, const RequestOutput& output);

  // io thread only. Waits until outputs arrive or interrupt() is called; returns what is queued
  // (possibly nothing after an interrupt).
  http::net::awaitable<std::vector<Item>> wait();
  // io thread only: wakes wait() (client gone).
  void interrupt();

 private:
  http::net::any_io_executor executor_;
  std::mutex mu_;
  std::vector<Item> items_;
  http::net::steady_timer* waiter_ = nullptr;  // io thread only: the timer wait() sleeps on
  bool interrupted_ = false;                   // io thread only
};

}  // namespace dpserve::engine
