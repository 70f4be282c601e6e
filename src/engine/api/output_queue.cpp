#include "engine/api/output_queue.h"

#include <boost/asio/post.hpp>

namespace dpserve::engine {

namespace net = http::net;

void OutputQueue::push(size_t tag, const RequestOutput& output) {
  {
    std::lock_guard lock(mu_);
    items_.emplace_back(tag, output);
  }
  net::post(executor_, [self = shared_from_this()] {
    if (self->waiter_ != nullptr) self->waiter_->cancel();
  });
}

void OutputQueue::interrupt() {
  interrupted_ = true;
  if (waiter_ != nullptr) waiter_->cancel();
}

net::awaitable<std::vector<OutputQueue::Item>> OutputQueue::wait() {
  std::vector<Item> out;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      out.swap(items_);
    }
    if (!out.empty() || interrupted_) {
      interrupted_ = false;
      co_return out;
    }
    net::steady_timer timer(executor_, net::steady_timer::time_point::max());
    waiter_ = &timer;
    co_await timer.async_wait(http::kUse);
    waiter_ = nullptr;
  }
}

}  // namespace dpserve::engine
