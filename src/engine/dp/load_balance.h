// How the native DP controller picks a rank for a request (engine-internals.md §1.4). Pure logic:
// the controller feeds it its own in-flight counters, which it updates at dispatch, so a burst
// arriving between two scheduler load snapshots still spreads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dpserve::engine {

enum class LoadBalanceMethod { kRoundRobin, kShortestQueue, kMinimumTokens };

std::optional<LoadBalanceMethod> parse_load_balance_method(std::string_view name);
const char* load_balance_method_name(LoadBalanceMethod method);

// What one rank is busy with: requests dispatched and not finished, and their prompt plus
// generated tokens.
struct RankLoad {
  int64_t requests = 0;
  int64_t tokens = 0;
};

class LoadBalancer {
 public:
  explicit LoadBalancer(LoadBalanceMethod method) : method_(method) {}
  LoadBalanceMethod method() const { return method_; }

  // round_robin cycles; shortest_queue takes the fewest requests; minimum_tokens the fewest
  // tokens, then the fewest requests. Ties go to the first rank after the previous pick, so equal
  // loads still rotate. `loads` must not be empty.
  int pick(std::span<const RankLoad> loads);

 private:
  LoadBalanceMethod method_;
  size_t cursor_ = 0;  // the rank after the previous pick
};

}  // namespace dpserve::engine
