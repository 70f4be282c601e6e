// Load as cache_aware and bucket see it: one number per worker in request units that weighs the
// prompt volume in flight as well as the request count (router-spec.md §8 item 3).
//   score = (requests + tokens / mean_tokens_per_request) / 2
// where the mean is taken over every in-flight request of the candidate workers. With equal
// prompt sizes the score equals the request count, so the reference's request-count thresholds
// keep their meaning; a worker holding fewer but much longer prompts scores higher.
#pragma once

#include "router/policies/rng.h"
#include "router/worker.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dpserve::router::policies {

// Fills `out` (resized to workers.size()) from one snapshot of the workers' counters.
void load_scores(std::span<const WorkerPtr> workers, std::vector<double>& out);

// The reference's imbalance test: (max - min) > abs AND max > min * rel.
bool is_imbalanced(std::span<const double> scores, int64_t abs_threshold, double rel_threshold);

// Index of the lowest score among `candidates` (indices into `scores`), ties broken uniformly at
// random. `candidates` must not be empty.
size_t lowest_score(std::span<const double> scores, std::span<const size_t> candidates,
                    SharedRng& rng);
// Same over every index of `scores` (must not be empty).
size_t lowest_score(std::span<const double> scores, SharedRng& rng);

}  // namespace dpserve::router::policies
