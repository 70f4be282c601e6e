// cache_aware (the default policy): send a request to the worker whose KV cache most likely holds
// its prefix, unless the fleet is imbalanced or nobody holds enough of it (router-spec.md §3.2,
// with the fixes of §8 items 2-4: per-worker match lengths, ties by load then at random, load
// weighted by in-flight tokens, and an unavailable worker is skipped, never wiped). User doc:
// docs/policies.md.
#pragma once

#include "router/policies/periodic.h"
#include "router/policies/rng.h"
#include "router/policy.h"
#include "router/tree/radix_tree.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

namespace dpserve::router::policies {

class CacheAwarePolicy final : public Policy, public Periodic {
 public:
  explicit CacheAwarePolicy(const PolicyConfig& config);

  std::string_view name() const override { return "cache_aware"; }
  std::optional<size_t> select(std::span<const WorkerPtr> workers,
                               const RouteRequest& request) override;
  void on_worker_removed(const Worker& worker) override;
  nlohmann::json stats() const override;
  std::vector<PolicyMetric> metrics() const override;
  void reset() override;
  // Runs the eviction sweep every --eviction-interval-secs. Insert already keeps each worker
  // within --max-tree-size; the sweep trims what concurrent inserts overshot.
  void tick(Clock::time_point now) override;

  // The tree of one model and key kind, nullptr before its first request. For tests and benches.
  const tree::RadixTree* tree_for(std::string_view model, tree::KeyKind kind) const;

 private:
  struct ModelTrees {
    std::unique_ptr<tree::RadixTree> text;
    std::unique_ptr<tree::RadixTree> ids;
  };

  tree::RadixTree* find_tree(std::string_view model, tree::KeyKind kind) const;
  tree::RadixTree& get_tree(std::string_view model, tree::KeyKind kind);

  const PolicyConfig config_;
  SharedRng rng_;

  mutable std::shared_mutex trees_mu_;
  std::map<std::string, ModelTrees, std::less<>> trees_;

  std::atomic<int64_t> matched_units_{0};
  std::atomic<int64_t> input_units_{0};
  std::atomic<int64_t> imbalanced_{0};
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> cache_misses_{0};

  std::mutex tick_mu_;
  std::optional<Clock::time_point> last_sweep_;
};

}  // namespace dpserve::router::policies
