// Policies with time-driven work (cache_aware's eviction sweep, bucket's range re-cut) also
// implement Periodic. The router calls tick() about once a second from one timer; the policy
// decides from `now` whether its own interval has passed, so tests drive time without sleeping.
#pragma once

#include <chrono>

namespace dpserve::router::policies {

class Periodic {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Periodic() = default;
  virtual void tick(Clock::time_point now) = 0;
};

}  // namespace dpserve::router::policies
