// Socket deadlines without a timer operation per I/O operation. A Deadline is a time stored next to
// its socket; one ticker per io_context (DeadlineService) checks the armed ones every
// kDeadlineTick and, for each one past due, cancels the socket's pending operations and shuts it
// down, so that pending and later operations fail at once. Arming is a store, which is what lets a
// proxied request pay for its timeouts with a few clock reads instead of timer-queue work per
// read and write (Beast's tcp_stream schedules and cancels a timer for every operation).
//
// Everything runs on the io_context's one thread: a Deadline is armed, disarmed and destroyed on
// the thread that runs the context its socket belongs to.
#pragma once

#include "common/http/beast.h"

#include <chrono>

namespace dpserve::http {

inline constexpr std::chrono::milliseconds kDeadlineTick{100};

class DeadlineService;

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(tcp::socket& socket);
  // A deadline that calls `on_expire(context)` instead of shutting the socket down; it can be
  // armed again afterwards (a cheap one-shot timer for whoever owns `socket`).
  Deadline(tcp::socket& socket, void (*on_expire)(void*), void* context);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_at(Clock::time_point when);
  void expires_after(Clock::duration after) { expires_at(Clock::now() + after); }
  void expires_never();
  // True once the deadline has passed and the socket was shut down; stays true.
  bool expired() const { return expired_; }
  // `ec`, or beast::error::timeout when the deadline is why the operation failed.
  error_code map(error_code ec) const;

 private:
  friend class DeadlineService;

  tcp::socket& socket_;
  DeadlineService& service_;
  void (*on_expire_)(void*) = nullptr;
  void* context_ = nullptr;
  Clock::time_point when_ = Clock::time_point::max();
  bool armed_ = false;
  bool expired_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

// One per io_context (an Asio service): the list of its Deadlines and the ticker that runs while
// any of them is armed.
class DeadlineService : public net::execution_context::service {
 public:
  using key_type = DeadlineService;
  static net::execution_context::id id;

  explicit DeadlineService(net::execution_context& context);

  void add(Deadline& deadline);
  void remove(Deadline& deadline);
  void armed(bool on);

 private:
  void shutdown() override;
  void schedule();
  void tick();

  net::steady_timer timer_;
  Deadline* head_ = nullptr;
  size_t armed_count_ = 0;
  bool ticking_ = false;
  bool shut_down_ = false;
};

}  // namespace dpserve::http
