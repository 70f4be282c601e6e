// The load-balancing policy interface. Every policy (round_robin, random, power_of_two,
// cache_aware, bucket) implements it; the proxy knows nothing else about them.
#pragma once

#include "router/worker.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::router {

// What a policy may look at, extracted from the request body without re-serialising it.
struct RouteRequest {
  std::string_view model;              // "" when the request names none
  std::string_view text;               // routing text (UTF-8); empty when the request has ids
  std::span<const int32_t> token_ids;  // set when the request carries input_ids
  int64_t prompt_size = 0;             // load units this request adds (bytes of text, or ids)
};

struct PolicyConfig {
  std::string name = "cache_aware";
  // cache_aware
  double cache_threshold = 0.5;
  int64_t balance_abs_threshold = 32;
  double balance_rel_threshold = 1.5;
  int64_t eviction_interval_secs = 120;
  int64_t max_tree_size = int64_t{1} << 26;
  // bucket
  int64_t bucket_adjust_interval_secs = 5;
  // Seed for policies that draw random numbers; 0 = seed from the clock.
  uint64_t seed = 0;
};

// Prometheus samples a policy exports (read on every scrape, so they must be cheap to produce:
// counters and per-worker gauges, never a walk of a large structure).
struct PolicyMetric {
  struct Sample {
    std::string label_name;  // "" = no label besides the policy's name
    std::string label_value;
    double value = 0;
  };
  std::string name;
  std::string type;  // "counter" or "gauge"
  std::string help;
  std::vector<Sample> samples;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;

  // Picks one of `workers` for `request`. `workers` holds only available workers of the request's
  // model (healthy, not draining, circuit closed) and is never empty. Returns an index into
  // `workers`, or nullopt when none fits. Called from many io threads at once: must be
  // thread-safe and must not block.
  virtual std::optional<size_t> select(std::span<const WorkerPtr> workers,
                                       const RouteRequest& request) = 0;

  // Registry events. A worker that is only unhealthy or circuit-open is NOT removed.
  virtual void on_worker_added(const Worker& /*worker*/) {}
  virtual void on_worker_removed(const Worker& /*worker*/) {}

  // Policy-specific statistics for the admin API (tree sizes, estimated hit rate, buckets).
  virtual nlohmann::json stats() const { return nlohmann::json::object(); }
  virtual std::vector<PolicyMetric> metrics() const { return {}; }
  // Forgets learned state (e.g. clears the cache-aware tree). Admin API.
  virtual void reset() {}
};

}  // namespace dpserve::router
