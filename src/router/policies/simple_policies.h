// The three load-balancing policies that keep no learned state: round_robin, random and
// power_of_two (router-spec.md §3.3–3.5).
#pragma once

#include "router/policies/rng.h"
#include "router/policy.h"

#include <atomic>
#include <cstdint>

namespace dpserve::router::policies {

class RoundRobinPolicy final : public Policy {
 public:
  std::string_view name() const override { return "round_robin"; }
  std::optional<size_t> select(std::span<const WorkerPtr> workers,
                               const RouteRequest& request) override;

 private:
  std::atomic<uint64_t> counter_{0};
};

class RandomPolicy final : public Policy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "random"; }
  std::optional<size_t> select(std::span<const WorkerPtr> workers,
                               const RouteRequest& request) override;

 private:
  SharedRng rng_;
};

// Two distinct random candidates; the one with the lower router-tracked load (requests, then
// tokens) wins, ties at random. Uses the router's own in-flight counts, which are always fresh,
// instead of the reference's 30 s engine poll whose failures (-1) looked least loaded.
class PowerOfTwoPolicy final : public Policy {
 public:
  explicit PowerOfTwoPolicy(uint64_t seed) : rng_(seed) {}
  std::string_view name() const override { return "power_of_two"; }
  std::optional<size_t> select(std::span<const WorkerPtr> workers,
                               const RouteRequest& request) override;

 private:
  SharedRng rng_;
};

}  // namespace dpserve::router::policies
