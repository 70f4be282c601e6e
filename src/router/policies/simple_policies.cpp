#include "router/policies/simple_policies.h"

#include "router/policies/load.h"

#include <array>

namespace dpserve::router::policies {

std::optional<size_t> RoundRobinPolicy::select(std::span<const WorkerPtr> workers,
                                               const RouteRequest& /*request*/) {
  if (workers.empty()) return std::nullopt;
  return counter_.fetch_add(1, std::memory_order_relaxed) % workers.size();
}

std::optional<size_t> RandomPolicy::select(std::span<const WorkerPtr> workers,
                                           const RouteRequest& /*request*/) {
  if (workers.empty()) return std::nullopt;
  return rng_.below(workers.size());
}

std::optional<size_t> PowerOfTwoPolicy::select(std::span<const WorkerPtr> workers,
                                               const RouteRequest& /*request*/) {
  if (workers.empty()) return std::nullopt;
  if (workers.size() == 1) return 0;
  const size_t first = rng_.below(workers.size());
  const size_t second = (first + 1 + rng_.below(workers.size() - 1)) % workers.size();
  const std::array<size_t, 2> candidates{first, second};
  return least_loaded(workers, candidates, rng_);
}

}  // namespace dpserve::router::policies
