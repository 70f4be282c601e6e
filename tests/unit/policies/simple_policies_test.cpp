#include "router/policies/factory.h"
#include "unit/policies/test_workers.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dpserve::router {
namespace {

using testing::make_workers;
using testing::set_load;

std::unique_ptr<Policy> make(const std::string& name, uint64_t seed = 7) {
  PolicyConfig config;
  config.name = name;
  config.seed = seed;
  return make_policy(config);
}

TEST(PolicyFactory, KnownNamesCreateMatchingPolicies) {
  for (const auto& name : policy_names()) {
    auto policy = make(name);
    ASSERT_NE(policy, nullptr);
    EXPECT_EQ(policy->name(), name);
  }
}

TEST(PolicyFactory, UnknownNameThrowsWithExpectedList) {
  try {
    make("fastest");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown policy 'fastest'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected one of: "), std::string::npos) << msg;
    for (const auto& name : policy_names()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

TEST(RoundRobin, CyclesThroughWorkersInOrder) {
  auto policy = make("round_robin");
  auto workers = make_workers(3);
  std::vector<size_t> picks;
  for (int i = 0; i < 7; ++i) picks.push_back(*policy->select(workers, {}));
  EXPECT_EQ(picks, (std::vector<size_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RoundRobin, EmptyListGivesNothing) {
  auto policy = make("round_robin");
  EXPECT_FALSE(policy->select({}, {}).has_value());
}

TEST(RoundRobin, ConcurrentCallersShareOneRotation) {
  auto policy = make("round_robin");
  auto workers = make_workers(4);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<int>> counts(kThreads, std::vector<int>(4));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) ++counts[t][*policy->select(workers, {})];
    });
  }
  for (auto& th : threads) th.join();
  for (size_t w = 0; w < 4; ++w) {
    int total = 0;
    for (int t = 0; t < kThreads; ++t) total += counts[t][w];
    EXPECT_EQ(total, kThreads * kPerThread / 4);
  }
}

TEST(Random, CoversEveryWorkerRoughlyUniformly) {
  auto policy = make("random");
  auto workers = make_workers(4);
  std::vector<int> counts(4);
  for (int i = 0; i < 8000; ++i) {
    auto pick = policy->select(workers, {});
    ASSERT_TRUE(pick.has_value());
    ASSERT_LT(*pick, 4u);
    ++counts[*pick];
  }
  for (int c : counts) EXPECT_NEAR(c, 2000, 250);
}

TEST(Random, SameSeedSameSequence) {
  auto a = make("random", 42);
  auto b = make("random", 42);
  auto workers = make_workers(10);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a->select(workers, {}), b->select(workers, {}));
}

TEST(PowerOfTwo, SingleWorkerIsChosen) {
  auto policy = make("power_of_two");
  auto workers = make_workers(1);
  EXPECT_EQ(policy->select(workers, {}), 0u);
}

TEST(PowerOfTwo, TwoWorkersLowerRequestCountAlwaysWins) {
  auto policy = make("power_of_two");
  auto workers = make_workers(2);
  set_load(*workers[0], 3, 0);
  set_load(*workers[1], 1, 1000000);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(policy->select(workers, {}), 1u);
}

TEST(PowerOfTwo, EqualRequestsTokensBreakTheTie) {
  auto policy = make("power_of_two");
  auto workers = make_workers(2);
  set_load(*workers[0], 2, 100);
  set_load(*workers[1], 2, 5000);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(policy->select(workers, {}), 0u);
}

TEST(PowerOfTwo, FullTieIsBrokenRandomly) {
  auto policy = make("power_of_two");
  auto workers = make_workers(2);
  std::vector<int> counts(2);
  for (int i = 0; i < 2000; ++i) ++counts[*policy->select(workers, {})];
  EXPECT_GT(counts[0], 800);
  EXPECT_GT(counts[1], 800);
}

TEST(PowerOfTwo, MostLoadedWorkerIsNeverChosen) {
  // The most loaded of n workers loses to whichever other candidate is drawn with it.
  auto policy = make("power_of_two");
  auto workers = make_workers(5);
  for (size_t i = 0; i < workers.size(); ++i) set_load(*workers[i], static_cast<int64_t>(i), 0);
  std::set<size_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const size_t pick = *policy->select(workers, {});
    EXPECT_NE(pick, 4u);
    seen.insert(pick);
  }
  // The least loaded wins whenever drawn, and every other non-max worker wins sometimes.
  EXPECT_EQ(seen, (std::set<size_t>{0, 1, 2, 3}));
}

TEST(PowerOfTwo, EmptyListGivesNothing) {
  auto policy = make("power_of_two");
  EXPECT_FALSE(policy->select({}, {}).has_value());
}

}  // namespace
}  // namespace dpserve::router
