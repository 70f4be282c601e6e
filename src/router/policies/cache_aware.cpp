#include "router/policies/cache_aware.h"

#include "router/policies/load_scores.h"

#include <array>

namespace dpserve::router::policies {

using tree::KeyKind;
using tree::RadixTree;

namespace {

// This thread's candidates for `tree`. A Candidates answers for one tree, and a router serving
// several models (or text and token ids) alternates trees from one decision to the next: with
// one per thread, each switch looked every worker up again (100 B, 512 workers, two models in
// turn: p50 30 us instead of 7). Up to eight are kept, a ninth tree replacing them in turn; a
// tree freed and another made at its address is told apart by the tree's serial inside.
tree::Candidates& candidates_for(const RadixTree* tree) {
  constexpr size_t kKept = 8;
  struct Kept {
    const RadixTree* tree = nullptr;
    tree::Candidates candidates;
  };
  thread_local std::array<Kept, kKept> kept;
  thread_local size_t next = 0;
  for (Kept& k : kept) {
    if (k.tree == tree) return k.candidates;
  }
  Kept& k = kept[next++ % kKept];
  k.tree = tree;
  return k.candidates;
}

}  // namespace

CacheAwarePolicy::CacheAwarePolicy(const PolicyConfig& config)
    : config_(config), rng_(config.seed) {}

RadixTree* CacheAwarePolicy::find_tree(std::string_view model, KeyKind kind) const {
  std::shared_lock lock(trees_mu_);
  auto it = trees_.find(model);
  if (it == trees_.end()) return nullptr;
  return kind == KeyKind::kText ? it->second.text.get() : it->second.ids.get();
}

RadixTree& CacheAwarePolicy::get_tree(std::string_view model, KeyKind kind) {
  if (RadixTree* t = find_tree(model, kind)) return *t;
  std::unique_lock lock(trees_mu_);
  auto& trees = trees_[std::string(model)];
  auto& slot = kind == KeyKind::kText ? trees.text : trees.ids;
  if (!slot) slot = std::make_unique<RadixTree>(kind, config_.max_tree_size);
  return *slot;
}

const RadixTree* CacheAwarePolicy::tree_for(std::string_view model, KeyKind kind) const {
  return find_tree(model, kind);
}

std::optional<size_t> CacheAwarePolicy::select(std::span<const WorkerPtr> workers,
                                               const RouteRequest& request) {
  if (workers.empty()) return std::nullopt;
  const bool by_ids = !request.token_ids.empty();
  const KeyKind kind = by_ids ? KeyKind::kTokenIds : KeyKind::kText;
  const std::string_view key = by_ids ? tree::token_key(request.token_ids) : request.text;

  thread_local std::vector<double> scores;
  load_scores(workers, scores);

  // The longest own match among the candidates, and who holds it. Only the given (available)
  // workers compete; an unhealthy or circuit-open worker is simply absent and keeps its entries
  // for when it returns. The candidates are kept per thread: while the same workers come in the
  // same order, resolving them reads nothing shared (see tree::Candidates).
  thread_local std::vector<std::string_view> ids;
  // The match also remembers its walk, so the insert below starts where it stopped.
  thread_local tree::BestMatch best;
  const tree::MatchWalk* walked = nullptr;
  int64_t input_units = 0;
  tree::WorkerRef ref;
  RadixTree* t = find_tree(request.model, kind);
  tree::Candidates* candidates = nullptr;
  if (t != nullptr && !key.empty()) {
    ids.resize(workers.size());
    for (size_t i = 0; i < workers.size(); ++i) ids[i] = workers[i]->id();
    candidates = &candidates_for(t);
    t->resolve(ids, *candidates);
    t->match(key, *candidates, best);
    walked = &best.walk;
    input_units = best.input_units;
  } else {
    best.units = 0;
    best.owners.clear();
    input_units = tree::count_units(kind, key);
  }
  const double rate =
      input_units > 0 ? static_cast<double>(best.units) / static_cast<double>(input_units) : 0.0;

  size_t chosen;
  if (is_imbalanced(scores, config_.balance_abs_threshold, config_.balance_rel_threshold)) {
    chosen = lowest_score(scores, rng_);
    imbalanced_.fetch_add(1, std::memory_order_relaxed);
  } else if (best.units > 0 && rate > config_.cache_threshold) {
    thread_local std::vector<size_t> holders;
    candidates->holders(best.owners, holders);
    chosen = lowest_score(scores, holders, rng_);
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
  } else {
    chosen = lowest_score(scores, rng_);
    cache_misses_.fetch_add(1, std::memory_order_relaxed);
  }
  if (candidates != nullptr) ref = (*candidates)[chosen];

  // The insert answers what the chosen worker held of the key, for the estimated hit rate.
  const int64_t chosen_units =
      key.empty() ? 0
                  : get_tree(request.model, kind).insert(key, workers[chosen]->id(), walked, ref);
  matched_units_.fetch_add(chosen_units, std::memory_order_relaxed);
  input_units_.fetch_add(input_units, std::memory_order_relaxed);
  return chosen;
}

void CacheAwarePolicy::on_worker_removed(const Worker& worker) {
  std::shared_lock lock(trees_mu_);
  for (auto& [model, trees] : trees_) {
    if (trees.text) trees.text->remove_worker(worker.id());
    if (trees.ids) trees.ids->remove_worker(worker.id());
  }
}

void CacheAwarePolicy::reset() {
  {
    std::shared_lock lock(trees_mu_);
    for (auto& [model, trees] : trees_) {
      if (trees.text) trees.text->clear();
      if (trees.ids) trees.ids->clear();
    }
  }
  matched_units_ = 0;
  input_units_ = 0;
  imbalanced_ = 0;
  cache_hits_ = 0;
  cache_misses_ = 0;
}

void CacheAwarePolicy::tick(Clock::time_point now) {
  {
    std::lock_guard lock(tick_mu_);
    if (!last_sweep_) {
      last_sweep_ = now;
      return;
    }
    if (now - *last_sweep_ < std::chrono::seconds(config_.eviction_interval_secs)) return;
    last_sweep_ = now;
  }
  std::shared_lock lock(trees_mu_);
  for (auto& [model, trees] : trees_) {
    if (trees.text) trees.text->enforce_budgets();
    if (trees.ids) trees.ids->enforce_budgets();
  }
}

nlohmann::json CacheAwarePolicy::stats() const {
  const int64_t matched = matched_units_.load(std::memory_order_relaxed);
  const int64_t input = input_units_.load(std::memory_order_relaxed);
  nlohmann::json out;
  out["policy"] = "cache_aware";
  out["config"] = {{"cache_threshold", config_.cache_threshold},
                   {"balance_abs_threshold", config_.balance_abs_threshold},
                   {"balance_rel_threshold", config_.balance_rel_threshold},
                   {"eviction_interval_secs", config_.eviction_interval_secs},
                   {"max_tree_size", config_.max_tree_size}};
  out["estimated_hit_rate"] =
      input > 0 ? static_cast<double>(matched) / static_cast<double>(input) : 0.0;
  out["matched_units"] = matched;
  out["input_units"] = input;
  out["decisions"] = {{"imbalanced", imbalanced_.load(std::memory_order_relaxed)},
                      {"cache_hit", cache_hits_.load(std::memory_order_relaxed)},
                      {"cache_miss", cache_misses_.load(std::memory_order_relaxed)}};
  nlohmann::json trees = nlohmann::json::array();
  std::shared_lock lock(trees_mu_);
  for (const auto& [model, t] : trees_) {
    for (const auto* tree : {t.text.get(), t.ids.get()}) {
      if (tree == nullptr) continue;
      const tree::TreeStats s = tree->stats();
      nlohmann::json workers = nlohmann::json::array();
      for (const auto& w : s.workers) {
        workers.push_back({{"id", w.id}, {"units", w.units}, {"nodes", w.nodes}});
      }
      trees.push_back({{"model", model},
                       {"key", tree->kind() == KeyKind::kText ? "text" : "token_ids"},
                       {"nodes", s.nodes},
                       {"stored_units", s.stored_units},
                       {"stored_bytes", s.stored_bytes},
                       {"memory_bytes", s.memory_bytes},
                       {"id_cache_misses", s.id_cache_misses},
                       {"resolve_lookups", s.resolve_lookups},
                       {"workers", std::move(workers)}});
    }
  }
  out["trees"] = std::move(trees);
  return out;
}

std::vector<PolicyMetric> CacheAwarePolicy::metrics() const {
  auto counter = [](std::string name, std::string help, int64_t value) {
    return PolicyMetric{
        std::move(name), "counter", std::move(help), {{"", "", static_cast<double>(value)}}};
  };
  std::vector<PolicyMetric> out;
  out.push_back(counter("smg_router_cache_matched_units_total",
                        "Prompt units (characters or ids) the tree matched at routing time",
                        matched_units_.load(std::memory_order_relaxed)));
  out.push_back(counter("smg_router_cache_input_units_total",
                        "Prompt units (characters or ids) routed; matched / input is the router's "
                        "estimated cache hit rate",
                        input_units_.load(std::memory_order_relaxed)));
  PolicyMetric decisions{
      "smg_router_policy_decisions_total", "counter", "cache_aware decisions by branch", {}};
  decisions.samples = {
      {"branch", "imbalanced", static_cast<double>(imbalanced_.load(std::memory_order_relaxed))},
      {"branch", "cache_hit", static_cast<double>(cache_hits_.load(std::memory_order_relaxed))},
      {"branch", "cache_miss", static_cast<double>(cache_misses_.load(std::memory_order_relaxed))}};
  out.push_back(std::move(decisions));
  return out;
}

}  // namespace dpserve::router::policies
