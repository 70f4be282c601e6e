#include "router/policies/bucket.h"

#include "router/policies/load_scores.h"
#include "router/tree/radix_tree.h"

#include <algorithm>

namespace dpserve::router::policies {

BucketPolicy::BucketPolicy(const PolicyConfig& config, NowFn now)
    : config_(config), now_(std::move(now)), rng_(config.seed) {}

BucketPolicy::ModelState& BucketPolicy::state_for(std::string_view model) {
  {
    std::shared_lock lock(states_mu_);
    auto it = states_.find(model);
    if (it != states_.end()) return *it->second;
  }
  std::unique_lock lock(states_mu_);
  auto& slot = states_[std::string(model)];
  if (!slot) slot = std::make_unique<ModelState>();
  return *slot;
}

void BucketPolicy::expire_locked(ModelState& s, Clock::time_point now) const {
  const auto horizon = now - std::chrono::seconds(config_.bucket_adjust_interval_secs);
  while (!s.window.empty() && s.window.front().at < horizon) {
    auto it = s.window_units.find(s.window.front().worker);
    if (it != s.window_units.end()) {
      it->second -= s.window.front().units;
      if (it->second <= 0) s.window_units.erase(it);
    }
    s.window.pop_front();
  }
}

void BucketPolicy::split_evenly_locked(ModelState& s) {
  const auto n = static_cast<int64_t>(s.members.size());
  s.upper.clear();
  for (int64_t k = 1; k < n; ++k) s.upper.push_back(k * kInitialMaxLength / n);
}

void BucketPolicy::recut_locked(ModelState& s) {
  const size_t n = s.members.size();
  if (n < 2 || s.window.empty()) return;
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& m : s.members) {
    auto it = s.window_units.find(m);
    const int64_t v = it == s.window_units.end() ? 0 : it->second;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // Leave the ranges alone unless the busiest range carries at least twice the idlest one.
  if (hi < 2 * lo || hi == 0) return;
  std::vector<int64_t> lengths;
  lengths.reserve(s.window.size());
  int64_t total = 0;
  for (const auto& e : s.window) {
    lengths.push_back(e.units);
    total += e.units;
  }
  std::sort(lengths.begin(), lengths.end());
  std::vector<int64_t> upper;
  int64_t cumulative = 0;
  size_t i = 0;
  for (size_t k = 1; k < n; ++k) {
    // Close range k-1 once it holds k/n of the window's characters.
    const int64_t target = static_cast<int64_t>(k) * total / static_cast<int64_t>(n);
    while (i < lengths.size() && cumulative < target) cumulative += lengths[i++];
    int64_t bound = i == 0 ? 0 : lengths[i - 1] + 1;
    if (!upper.empty()) bound = std::max(bound, upper.back());
    upper.push_back(bound);
  }
  s.upper = std::move(upper);
  ++s.recuts;
}

std::optional<size_t> BucketPolicy::select(std::span<const WorkerPtr> workers,
                                           const RouteRequest& request) {
  if (workers.empty()) return std::nullopt;
  const int64_t units = request.token_ids.empty()
                            ? tree::count_units(tree::KeyKind::kText, request.text)
                            : static_cast<int64_t>(request.token_ids.size());
  thread_local std::vector<double> scores;
  load_scores(workers, scores);
  const bool imbalanced =
      is_imbalanced(scores, config_.balance_abs_threshold, config_.balance_rel_threshold);

  ModelState& s = state_for(request.model);
  const auto now = now_();
  std::lock_guard lock(s.mu);
  expire_locked(s, now);
  bool grew = false;
  for (const auto& w : workers) {
    auto it = std::lower_bound(s.members.begin(), s.members.end(), w->id());
    if (it == s.members.end() || *it != w->id()) {
      s.members.insert(it, w->id());
      grew = true;
    }
  }
  if (grew) split_evenly_locked(s);

  const size_t range = static_cast<size_t>(std::upper_bound(s.upper.begin(), s.upper.end(), units) -
                                           s.upper.begin());
  std::optional<size_t> chosen;
  if (!imbalanced) {
    for (size_t i = 0; i < workers.size(); ++i) {
      if (workers[i]->id() == s.members[range]) chosen = i;
    }
  }
  // Imbalanced, or the range's worker is unavailable now: the least-loaded available worker.
  if (!chosen) chosen = lowest_score(scores, rng_);

  const std::string& id = workers[*chosen]->id();
  s.window.push_back({now, units, id});
  auto it = s.window_units.find(id);
  if (it == s.window_units.end()) {
    s.window_units.emplace(id, units);
  } else {
    it->second += units;
  }
  return chosen;
}

void BucketPolicy::on_worker_removed(const Worker& worker) {
  std::shared_lock lock(states_mu_);
  for (auto& [model, s] : states_) {
    std::lock_guard state_lock(s->mu);
    auto it = std::find(s->members.begin(), s->members.end(), worker.id());
    if (it == s->members.end()) continue;
    s->members.erase(it);
    s->window_units.erase(worker.id());
    split_evenly_locked(*s);
  }
}

void BucketPolicy::reset() {
  std::shared_lock lock(states_mu_);
  for (auto& [model, s] : states_) {
    std::lock_guard state_lock(s->mu);
    s->window.clear();
    s->window_units.clear();
    split_evenly_locked(*s);
  }
}

void BucketPolicy::tick(Clock::time_point now) {
  {
    std::lock_guard lock(tick_mu_);
    if (!last_recut_) {
      last_recut_ = now;
      return;
    }
    if (now - *last_recut_ < std::chrono::seconds(config_.bucket_adjust_interval_secs)) return;
    last_recut_ = now;
  }
  std::shared_lock lock(states_mu_);
  for (auto& [model, s] : states_) {
    std::lock_guard state_lock(s->mu);
    expire_locked(*s, now);
    recut_locked(*s);
  }
}

BucketPolicy::Ranges BucketPolicy::ranges(std::string_view model) const {
  std::shared_lock lock(states_mu_);
  auto it = states_.find(model);
  if (it == states_.end()) return {};
  std::lock_guard state_lock(it->second->mu);
  return {it->second->members, it->second->upper};
}

nlohmann::json BucketPolicy::stats() const {
  nlohmann::json models = nlohmann::json::object();
  std::shared_lock lock(states_mu_);
  for (const auto& [model, s] : states_) {
    std::lock_guard state_lock(s->mu);
    nlohmann::json ranges = nlohmann::json::array();
    for (size_t k = 0; k < s->members.size(); ++k) {
      auto w = s->window_units.find(s->members[k]);
      nlohmann::json r = {{"worker", s->members[k]},
                          {"min_length", k == 0 ? 0 : s->upper[k - 1]},
                          {"window_units", w == s->window_units.end() ? 0 : w->second}};
      // The last range is open-ended.
      r["max_length"] = k < s->upper.size() ? nlohmann::json(s->upper[k] - 1) : nlohmann::json();
      ranges.push_back(std::move(r));
    }
    models[model] = {{"ranges", std::move(ranges)},
                     {"window_requests", s->window.size()},
                     {"recuts", s->recuts}};
  }
  return {{"policy", "bucket"},
          {"config",
           {{"bucket_adjust_interval_secs", config_.bucket_adjust_interval_secs},
            {"balance_abs_threshold", config_.balance_abs_threshold},
            {"balance_rel_threshold", config_.balance_rel_threshold}}},
          {"models", std::move(models)}};
}

}  // namespace dpserve::router::policies
