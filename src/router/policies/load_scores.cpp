#include "router/policies/load_scores.h"

#include <algorithm>

namespace dpserve::router::policies {

void load_scores(std::span<const WorkerPtr> workers, std::vector<double>& out) {
  out.resize(workers.size());
  thread_local std::vector<int64_t> requests, tokens;
  requests.resize(workers.size());
  tokens.resize(workers.size());
  int64_t total_requests = 0, total_tokens = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    // Counters can dip below zero for a moment around release; clamp so they never look idle.
    requests[i] = std::max<int64_t>(0, workers[i]->in_flight_requests());
    tokens[i] = std::max<int64_t>(0, workers[i]->in_flight_tokens());
    total_requests += requests[i];
    total_tokens += tokens[i];
  }
  const double mean_tokens =
      total_requests > 0 && total_tokens > 0
          ? static_cast<double>(total_tokens) / static_cast<double>(total_requests)
          : 0.0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const double token_part = mean_tokens > 0 ? static_cast<double>(tokens[i]) / mean_tokens
                                              : static_cast<double>(requests[i]);
    out[i] = (static_cast<double>(requests[i]) + token_part) / 2.0;
  }
}

bool is_imbalanced(std::span<const double> scores, int64_t abs_threshold, double rel_threshold) {
  if (scores.empty()) return false;
  const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
  return (*hi - *lo) > static_cast<double>(abs_threshold) && *hi > *lo * rel_threshold;
}

namespace {

template <typename IndexAt>
size_t pick_lowest(std::span<const double> scores, size_t count, IndexAt index_at, SharedRng& rng) {
  size_t best = index_at(0);
  size_t ties = 1;
  for (size_t i = 1; i < count; ++i) {
    const size_t idx = index_at(i);
    if (scores[idx] < scores[best]) {
      best = idx;
      ties = 1;
    } else if (scores[idx] == scores[best]) {
      ++ties;
      if (rng.below(ties) == 0) best = idx;  // reservoir: uniform among the tied
    }
  }
  return best;
}

}  // namespace

size_t lowest_score(std::span<const double> scores, std::span<const size_t> candidates,
                    SharedRng& rng) {
  return pick_lowest(
      scores, candidates.size(), [&](size_t i) { return candidates[i]; }, rng);
}

size_t lowest_score(std::span<const double> scores, SharedRng& rng) {
  return pick_lowest(
      scores, scores.size(), [](size_t i) { return i; }, rng);
}

}  // namespace dpserve::router::policies
