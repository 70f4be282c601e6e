// The router-tracked load comparison every load-aware policy shares: in-flight requests first,
// then in-flight prompt size (tokens or bytes), so two workers with equal request counts but very
// different prompt volumes are told apart (router-spec.md §8 item 3).
#pragma once

#include "router/policies/rng.h"
#include "router/worker.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dpserve::router::policies {

struct Load {
  int64_t requests = 0;
  int64_t tokens = 0;

  static Load of(const Worker& w) { return {w.in_flight_requests(), w.in_flight_tokens()}; }
  friend auto operator<=>(const Load&, const Load&) = default;
};

// Index of the least-loaded worker among `candidates` (indices into `workers`); ties broken
// uniformly at random. `candidates` must not be empty.
size_t least_loaded(std::span<const WorkerPtr> workers, std::span<const size_t> candidates,
                    SharedRng& rng);

// Same over every worker in `workers` (must not be empty).
size_t least_loaded(std::span<const WorkerPtr> workers, SharedRng& rng);

}  // namespace dpserve::router::policies
