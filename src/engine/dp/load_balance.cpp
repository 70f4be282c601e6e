#include "engine/dp/load_balance.h"

namespace dpserve::engine {

std::optional<LoadBalanceMethod> parse_load_balance_method(std::string_view name) {
  if (name == "round_robin") return LoadBalanceMethod::kRoundRobin;
  if (name == "shortest_queue") return LoadBalanceMethod::kShortestQueue;
  if (name == "minimum_tokens") return LoadBalanceMethod::kMinimumTokens;
  return std::nullopt;
}

const char* load_balance_method_name(LoadBalanceMethod method) {
  switch (method) {
    case LoadBalanceMethod::kRoundRobin:
      return "round_robin";
    case LoadBalanceMethod::kShortestQueue:
      return "shortest_queue";
    case LoadBalanceMethod::kMinimumTokens:
      return "minimum_tokens";
  }
  return "round_robin";
}

int LoadBalancer::pick(std::span<const RankLoad> loads) {
  const size_t n = loads.size();
  size_t best = cursor_ % n;
  if (method_ != LoadBalanceMethod::kRoundRobin) {
    auto better = [this](const RankLoad& a, const RankLoad& b) {
      if (method_ == LoadBalanceMethod::kShortestQueue) return a.requests < b.requests;
      if (a.tokens != b.tokens) return a.tokens < b.tokens;
      return a.requests < b.requests;
    };
    for (size_t step = 1; step < n; ++step) {
      const size_t i = (cursor_ + step) % n;
      if (better(loads[i], loads[best])) best = i;
    }
  }
  cursor_ = best + 1;
  return static_cast<int>(best);
}

}  // namespace dpserve::engine
