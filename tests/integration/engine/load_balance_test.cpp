// The DP dispatch methods as pure logic (the engine tests check them end to end).
#include "engine/dp/load_balance.h"

#include <gtest/gtest.h>

#include <vector>

namespace dpserve::engine {
namespace {

TEST(LoadBalancer, ParsesMethodNames) {
  EXPECT_EQ(parse_load_balance_method("round_robin"), LoadBalanceMethod::kRoundRobin);
  EXPECT_EQ(parse_load_balance_method("shortest_queue"), LoadBalanceMethod::kShortestQueue);
  EXPECT_EQ(parse_load_balance_method("minimum_tokens"), LoadBalanceMethod::kMinimumTokens);
  EXPECT_FALSE(parse_load_balance_method("random").has_value());
  EXPECT_STREQ(load_balance_method_name(LoadBalanceMethod::kMinimumTokens), "minimum_tokens");
}

TEST(LoadBalancer, RoundRobinIgnoresLoad) {
  LoadBalancer balancer(LoadBalanceMethod::kRoundRobin);
  std::vector<RankLoad> loads = {{100, 9999}, {0, 0}, {5, 5}};
  std::vector<int> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(balancer.pick(loads));
  EXPECT_EQ(picks, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(LoadBalancer, ShortestQueueTakesFewestRequestsAndRotatesTies) {
  LoadBalancer balancer(LoadBalanceMethod::kShortestQueue);
  std::vector<RankLoad> loads = {{3, 0}, {1, 1000}, {2, 0}};
  EXPECT_EQ(balancer.pick(loads), 1);
  std::vector<RankLoad> equal = {{1, 0}, {1, 0}, {1, 0}};
  std::vector<int> picks;
  for (int i = 0; i < 3; ++i) picks.push_back(balancer.pick(equal));
  EXPECT_EQ(picks, (std::vector<int>{2, 0, 1}));
}

TEST(LoadBalancer, MinimumTokensThenRequests) {
  LoadBalancer balancer(LoadBalanceMethod::kMinimumTokens);
  EXPECT_EQ(balancer.pick(std::vector<RankLoad>{{1, 500}, {4, 100}, {0, 300}}), 1);
  EXPECT_EQ(balancer.pick(std::vector<RankLoad>{{3, 100}, {1, 100}, {2, 100}}), 1);
}

}  // namespace
}  // namespace dpserve::engine
