#include "common/http/deadline.h"

namespace dpserve::http {

net::execution_context::id DeadlineService::id;

namespace {

DeadlineService& service_of(tcp::socket& socket) {
  return net::use_service<DeadlineService>(
      net::query(socket.get_executor(), net::execution::context));
}

}  // namespace

Deadline::Deadline(tcp::socket& socket) : socket_(socket), service_(service_of(socket)) {
  service_.add(*this);
}

Deadline::Deadline(tcp::socket& socket, void (*on_expire)(void*), void* context)
    : socket_(socket), service_(service_of(socket)), on_expire_(on_expire), context_(context) {
  service_.add(*this);
}

Deadline::~Deadline() {
  expires_never();
  service_.remove(*this);
}

void Deadline::expires_at(Clock::time_point when) {
  when_ = when;
  if (!armed_) {
    armed_ = true;
    service_.armed(true);
  }
}

void Deadline::expires_never() {
  when_ = Clock::time_point::max();
  if (armed_) {
    armed_ = false;
    service_.armed(false);
  }
}

error_code Deadline::map(error_code ec) const {
  if (expired_ && ec) return beast::error::timeout;
  return ec;
}

DeadlineService::DeadlineService(net::execution_context& context)
    : service(context), timer_(static_cast<net::io_context&>(context)) {}

void DeadlineService::add(Deadline& deadline) {
  deadline.next_ = head_;
  if (head_) head_->prev_ = &deadline;
  head_ = &deadline;
}

void DeadlineService::remove(Deadline& deadline) {
  if (deadline.prev_) {
    deadline.prev_->next_ = deadline.next_;
  } else {
    head_ = deadline.next_;
  }
  if (deadline.next_) deadline.next_->prev_ = deadline.prev_;
  deadline.prev_ = deadline.next_ = nullptr;
}

void DeadlineService::armed(bool on) {
  if (!on) {
    --armed_count_;
    return;
  }
  ++armed_count_;
  if (ticking_ || shut_down_) return;
  ticking_ = true;
  schedule();
}

void DeadlineService::tick() {
  const auto now = Deadline::Clock::now();
  for (Deadline *d = head_, *next = nullptr; d; d = next) {
    next = d->next_;
    if (!d->armed_ || d->when_ > now) continue;
    d->armed_ = false;
    --armed_count_;
    if (d->on_expire_) {
      d->on_expire_(d->context_);
      continue;
    }
    d->expired_ = true;
    error_code ignored;
    d->socket_.cancel(ignored);
    d->socket_.shutdown(tcp::socket::shutdown_both, ignored);
  }
  if (armed_count_ == 0 || shut_down_) {
    ticking_ = false;
    return;
  }
  schedule();
}

void DeadlineService::schedule() {
  timer_.expires_after(kDeadlineTick);
  timer_.async_wait([this](error_code ec) {
    if (ec) {
      ticking_ = false;
      return;
    }
    tick();
  });
}

void DeadlineService::shutdown() {
  shut_down_ = true;
  timer_.cancel();
}

}  // namespace dpserve::http
