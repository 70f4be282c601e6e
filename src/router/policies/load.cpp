#include "router/policies/load.h"

namespace dpserve::router::policies {

namespace {

// Reservoir sampling over the tied minimum: one pass, no allocation, uniform among ties.
template <typename IndexAt>
size_t pick_min(std::span<const WorkerPtr> workers, size_t count, IndexAt index_at,
                SharedRng& rng) {
  size_t best = index_at(0);
  Load best_load = Load::of(*workers[best]);
  size_t ties = 1;
  for (size_t i = 1; i < count; ++i) {
    const size_t idx = index_at(i);
    const Load load = Load::of(*workers[idx]);
    if (load < best_load) {
      best = idx;
      best_load = load;
      ties = 1;
    } else if (load == best_load) {
      ++ties;
      if (rng.below(ties) == 0) best = idx;
    }
  }
  return best;
}

}  // namespace

size_t least_loaded(std::span<const WorkerPtr> workers, std::span<const size_t> candidates,
                    SharedRng& rng) {
  return pick_min(
      workers, candidates.size(), [&](size_t i) { return candidates[i]; }, rng);
}

size_t least_loaded(std::span<const WorkerPtr> workers, SharedRng& rng) {
  return pick_min(
      workers, workers.size(), [](size_t i) { return i; }, rng);
}

}  // namespace dpserve::router::policies
