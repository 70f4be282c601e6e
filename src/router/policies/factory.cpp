#include "router/policies/factory.h"

#include "router/policies/bucket.h"
#include "router/policies/cache_aware.h"
#include "router/policies/simple_policies.h"

#include <cmath>
#include <stdexcept>

namespace dpserve::router {

namespace {

// Bad flag values are start-up errors with the flag's name, not odd routing later.
void validate(const PolicyConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (!(c.cache_threshold >= 0.0 && c.cache_threshold <= 1.0)) {
    fail("--cache-threshold must be within [0, 1], got " + std::to_string(c.cache_threshold));
  }
  if (c.balance_abs_threshold < 0) {
    fail("--balance-abs-threshold must be >= 0, got " + std::to_string(c.balance_abs_threshold));
  }
  if (!(c.balance_rel_threshold >= 1.0) || !std::isfinite(c.balance_rel_threshold)) {
    fail("--balance-rel-threshold must be a finite number >= 1, got " +
         std::to_string(c.balance_rel_threshold));
  }
  if (c.eviction_interval_secs <= 0) {
    fail("--eviction-interval-secs must be > 0, got " + std::to_string(c.eviction_interval_secs));
  }
  if (c.max_tree_size <= 0) {
    fail("--max-tree-size must be > 0, got " + std::to_string(c.max_tree_size));
  }
  if (c.bucket_adjust_interval_secs <= 0) {
    fail("--bucket-adjust-interval-secs must be > 0, got " +
         std::to_string(c.bucket_adjust_interval_secs));
  }
}

}  // namespace

std::vector<std::string> policy_names() {
  return {"cache_aware", "round_robin", "random", "power_of_two", "bucket"};
}

std::unique_ptr<Policy> make_policy(const PolicyConfig& config) {
  if (config.name == "round_robin") return std::make_unique<policies::RoundRobinPolicy>();
  if (config.name == "random") return std::make_unique<policies::RandomPolicy>(config.seed);
  if (config.name == "power_of_two") {
    return std::make_unique<policies::PowerOfTwoPolicy>(config.seed);
  }
  if (config.name == "cache_aware") {
    validate(config);
    return std::make_unique<policies::CacheAwarePolicy>(config);
  }
  if (config.name == "bucket") {
    validate(config);
    return std::make_unique<policies::BucketPolicy>(config);
  }
  std::string expected;
  for (const auto& n : policy_names()) {
    if (!expected.empty()) expected += ", ";
    expected += n;
  }
  throw std::invalid_argument("unknown policy '" + config.name + "' (expected one of: " + expected +
                              ")");
}

}  // namespace dpserve::router
