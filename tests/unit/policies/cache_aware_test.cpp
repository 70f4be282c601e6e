#include "router/policies/cache_aware.h"

#include "router/policies/factory.h"
#include "unit/policies/test_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dpserve::router::policies {
namespace {

using router::testing::make_workers;
using router::testing::set_load;
using tree::KeyKind;

PolicyConfig config(uint64_t seed = 11) {
  PolicyConfig c;
  c.name = "cache_aware";
  c.seed = seed;
  return c;
}

RouteRequest text_request(std::string_view text, std::string_view model = "m") {
  RouteRequest r;
  r.model = model;
  r.text = text;
  r.prompt_size = static_cast<int64_t>(text.size());
  return r;
}

// Routes `text` so that `owner` learns it: an imbalance makes the idle owner win whatever the
// tree holds. Counts as one "imbalanced" decision.
void teach(CacheAwarePolicy& p, std::vector<WorkerPtr>& workers, size_t owner,
           std::string_view text) {
  for (size_t i = 0; i < workers.size(); ++i) set_load(*workers[i], i == owner ? 0 : 100, 0);
  ASSERT_EQ(p.select(workers, text_request(text)), owner);
  for (auto& w : workers) set_load(*w, 0, 0);
}

int64_t matched(const CacheAwarePolicy& p, std::string_view text, const std::string& worker) {
  const tree::RadixTree* t = p.tree_for("m", KeyKind::kText);
  if (t == nullptr) return 0;
  auto slot = t->slot_of(worker);
  if (!slot) return 0;
  return t->match(text).matched_units(*slot);
}

TEST(CacheAware, IsTheDefaultAndListedFirst) {
  EXPECT_EQ(policy_names().front(), "cache_aware");
  EXPECT_EQ(make_policy(config())->name(), "cache_aware");
}

TEST(CacheAware, RejectsBadFlags) {
  auto bad = [](auto mutate) {
    PolicyConfig c = config();
    mutate(c);
    EXPECT_THROW(make_policy(c), std::invalid_argument);
  };
  bad([](PolicyConfig& c) { c.cache_threshold = 1.5; });
  bad([](PolicyConfig& c) { c.cache_threshold = -0.1; });
  bad([](PolicyConfig& c) { c.balance_abs_threshold = -1; });
  bad([](PolicyConfig& c) { c.balance_rel_threshold = 0.5; });
  bad([](PolicyConfig& c) { c.eviction_interval_secs = 0; });
  bad([](PolicyConfig& c) { c.max_tree_size = 0; });
}

TEST(CacheAware, EmptyWorkerListGivesNothing) {
  CacheAwarePolicy p(config());
  EXPECT_FALSE(p.select({}, text_request("x")).has_value());
}

TEST(CacheAware, MissGoesToLeastLoadedAndTeachesIt) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(3);
  set_load(*workers[0], 2, 0);
  set_load(*workers[1], 1, 0);
  set_load(*workers[2], 3, 0);
  EXPECT_EQ(p.select(workers, text_request("hello world")), 1u);
  EXPECT_EQ(matched(p, "hello world", "w1"), 11);
  EXPECT_EQ(matched(p, "hello world", "w0"), 0);
}

TEST(CacheAware, HitSticksToTheHolderDespiteSmallLoadGap) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(3);
  teach(p, workers, 2, "a long shared system prompt");
  set_load(*workers[2], 5, 0);  // busier, but not imbalanced (abs 32)
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(p.select(workers, text_request("a long shared system prompt, question")), 2u);
  }
}

TEST(CacheAware, RateExactlyAtThresholdIsAMiss) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  teach(p, workers, 1, "aaaaaaaaaa");
  set_load(*workers[1], 1, 0);
  // 5 of 10 characters matched: 0.5 is not above the 0.5 threshold -> least loaded (w0).
  EXPECT_EQ(p.select(workers, text_request("aaaaabbbbb")), 0u);
  // 6 of 10: above -> the holder, even though it is busier.
  EXPECT_EQ(p.select(workers, text_request("aaaaaabbbb")), 1u);
}

TEST(CacheAware, ThresholdZeroFollowsAnyMatchAndOneNeverDoes) {
  PolicyConfig c = config();
  c.cache_threshold = 0.0;
  CacheAwarePolicy any(c);
  auto workers = make_workers(2);
  teach(any, workers, 1, "abc");
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(any.select(workers, text_request("axxxxxxxxx")), 1u);  // 1/10 > 0
  EXPECT_EQ(any.select(workers, text_request("zzz")), 0u);         // 0/3 is not > 0

  c.cache_threshold = 1.0;
  CacheAwarePolicy never(c);
  teach(never, workers, 1, "abc");
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(never.select(workers, text_request("abc")), 0u);  // 1.0 is not > 1.0
}

TEST(CacheAware, ImbalanceNeedsBothAbsoluteAndRelativeGaps) {
  struct Case {
    int64_t holder_load, other_load;
    bool imbalanced;
  };
  const Case cases[] = {
      {42, 10, false},    // gap 32: not > 32
      {43, 10, true},     // gap 33 and 43 > 15
      {150, 100, false},  // gap 50, but 150 is not > 100 * 1.5
      {151, 100, true},   // gap 51 and 151 > 150
      {33, 0, true},      // gap 33 and 33 > 0
      {32, 0, false},     // gap 32
  };
  for (const auto& tc : cases) {
    CacheAwarePolicy p(config());
    auto workers = make_workers(2);
    teach(p, workers, 1, "cached prompt");
    set_load(*workers[1], tc.holder_load, 0);
    set_load(*workers[0], tc.other_load, 0);
    EXPECT_EQ(p.select(workers, text_request("cached prompt")), tc.imbalanced ? 0u : 1u)
        << tc.holder_load << " vs " << tc.other_load;
    if (tc.imbalanced) {
      // The imbalanced branch still teaches the chosen worker.
      EXPECT_EQ(matched(p, "cached prompt", "w0"), 13);
      EXPECT_EQ(p.stats()["decisions"]["imbalanced"], 2);  // teach() + this one
    } else {
      EXPECT_EQ(p.stats()["decisions"]["cache_hit"], 1);
    }
  }
}

TEST(CacheAware, LongestMatchPerWorkerWins) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(3);
  teach(p, workers, 0, "system: be brief. user: hi");
  teach(p, workers, 1, "system: be brief. user: what is 2+2? assistant: 4");
  // w1 holds the longer match even though w0 also matches more than half.
  EXPECT_EQ(p.select(workers, text_request("system: be brief. user: what is 2+2? again")), 1u);
}

TEST(CacheAware, TiesAmongHoldersGoToTheLessLoadedThenAtRandom) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(3);
  teach(p, workers, 0, "same prompt");
  teach(p, workers, 1, "same prompt");
  set_load(*workers[0], 2, 0);
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(p.select(workers, text_request("same prompt")), 1u);
  set_load(*workers[0], 1, 0);
  std::set<size_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*p.select(workers, text_request("same prompt")));
  EXPECT_EQ(seen, (std::set<size_t>{0, 1}));  // never w2, which holds nothing
}

TEST(CacheAware, MissTiesAreRandomNotFirstIndex) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(4);
  std::set<size_t> seen;
  for (int i = 0; i < 200; ++i) {
    p.reset();  // every decision is a cold miss with all loads equal
    seen.insert(*p.select(workers, text_request("prompt")));
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(CacheAware, LoadWeighsInFlightTokens) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  set_load(*workers[0], 4, 40000);  // four long prompts
  set_load(*workers[1], 4, 400);    // four short ones
  EXPECT_EQ(p.select(workers, text_request("fresh")), 1u);
  // Fewer requests but far more tokens still scores higher: (2 + 2*20000/((2+5)... ) mean.
  set_load(*workers[0], 2, 60000);
  set_load(*workers[1], 5, 500);
  EXPECT_EQ(p.select(workers, text_request("fresh again")), 1u);
}

TEST(CacheAware, UnavailableHolderIsSkippedNotWiped) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(3);
  teach(p, workers, 2, "prompt held by w2 only");
  teach(p, workers, 1, "prompt held by");  // a shorter match on w1 (14 of 22 chars)
  // w2 turns unhealthy: the router leaves it out of the list.
  std::vector<WorkerPtr> available{workers[0], workers[1]};
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(p.select(available, text_request("prompt held by w2 only")), 1u);
  // Its entries survive, so it gets the prompt back when it recovers.
  EXPECT_EQ(matched(p, "prompt held by w2 only", "w2"), 22);
  // w1 learned it meanwhile; w2 (idle) is again a holder and beats the equally idle non-holder w0.
  set_load(*workers[1], 1, 0);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(p.select(workers, text_request("prompt held by w2 only")), 2u);
  }
}

TEST(CacheAware, RemovedWorkerLosesItsEntries) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  teach(p, workers, 1, "some prompt");
  p.on_worker_removed(*workers[1]);
  EXPECT_EQ(matched(p, "some prompt", "w1"), 0);
  // Re-added under the same id, it starts cold: least loaded wins.
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(p.select(workers, text_request("some prompt")), 0u);
}

TEST(CacheAware, TokenIdsAndModelsUseSeparateTrees) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  std::vector<int32_t> ids{101, 102, 103, 104};
  RouteRequest r;
  r.model = "m";
  r.token_ids = ids;
  set_load(*workers[0], 1, 0);
  EXPECT_EQ(p.select(workers, r), 1u);
  ASSERT_NE(p.tree_for("m", KeyKind::kTokenIds), nullptr);
  EXPECT_EQ(p.tree_for("m", KeyKind::kText), nullptr);
  set_load(*workers[0], 0, 0);
  set_load(*workers[1], 1, 0);
  EXPECT_EQ(p.select(workers, r), 1u);  // hit on ids
  // Another model does not see m's tree.
  RouteRequest other = r;
  other.model = "other";
  EXPECT_EQ(p.select(workers, other), 0u);
}

// Decisions alternating between two models (two trees) keep each tree's resolved workers: with
// the same workers and no worker added to either tree, no id is looked up again.
TEST(CacheAware, AlternatingModelsKeepEachTreesResolvedWorkers) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(64);
  RouteRequest a = text_request("a prompt for the first model");
  RouteRequest b = text_request("a prompt for the second model");
  b.model = "m2";
  const size_t to_a = *p.select(workers, a);
  const size_t to_b = *p.select(workers, b);
  EXPECT_EQ(*p.select(workers, a), to_a);  // both trees exist now, each knowing one worker
  EXPECT_EQ(*p.select(workers, b), to_b);
  const int64_t a0 = p.tree_for("m", KeyKind::kText)->stats().resolve_lookups;
  const int64_t b0 = p.tree_for("m2", KeyKind::kText)->stats().resolve_lookups;
  EXPECT_GE(a0, 63);  // the workers it does not know were looked up
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(*p.select(workers, a), to_a);
    ASSERT_EQ(*p.select(workers, b), to_b);
  }
  EXPECT_EQ(p.tree_for("m", KeyKind::kText)->stats().resolve_lookups, a0);
  EXPECT_EQ(p.tree_for("m2", KeyKind::kText)->stats().resolve_lookups, b0);
}

TEST(CacheAware, EmptyTextIsAMissAndTeachesNothing) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  set_load(*workers[0], 1, 0);
  EXPECT_EQ(p.select(workers, text_request("")), 1u);
  EXPECT_EQ(p.tree_for("m", KeyKind::kText), nullptr);
  EXPECT_EQ(p.stats()["decisions"]["cache_miss"], 1);
}

TEST(CacheAware, StatsReportHitRateAndTreeSizesAndResetClears) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(2);
  teach(p, workers, 0, "0123456789");                            // 0 of 10 matched
  EXPECT_EQ(p.select(workers, text_request("0123456789")), 0u);  // 10 of 10
  auto s = p.stats();
  EXPECT_EQ(s["policy"], "cache_aware");
  EXPECT_EQ(s["input_units"], 20);
  EXPECT_EQ(s["matched_units"], 10);
  EXPECT_DOUBLE_EQ(s["estimated_hit_rate"].get<double>(), 0.5);
  ASSERT_EQ(s["trees"].size(), 1u);
  EXPECT_EQ(s["trees"][0]["model"], "m");
  EXPECT_EQ(s["trees"][0]["key"], "text");
  EXPECT_EQ(s["trees"][0]["workers"][0]["id"], "w0");
  EXPECT_EQ(s["trees"][0]["workers"][0]["units"], 10);
  EXPECT_EQ(s["config"]["max_tree_size"], 67108864);
  p.reset();
  s = p.stats();
  EXPECT_EQ(s["input_units"], 0);
  EXPECT_EQ(s["trees"][0]["nodes"], 0);
  EXPECT_EQ(matched(p, "0123456789", "w0"), 0);
}

TEST(CacheAware, TreeSizeStaysWithinMaxTreeSizeAndSweepKeepsIt) {
  PolicyConfig c = config();
  c.max_tree_size = 100;
  c.eviction_interval_secs = 10;
  CacheAwarePolicy p(c);
  auto workers = make_workers(2);
  std::mt19937_64 rng(3);
  const auto t0 = Periodic::Clock::time_point{};
  p.tick(t0);
  for (int i = 0; i < 300; ++i) {
    std::string text(static_cast<size_t>(10 + rng() % 40), 'x');
    for (auto& ch : text) ch = static_cast<char>('a' + rng() % 4);
    p.select(workers, text_request(text));
    const auto stats = p.stats();  // keep it alive: the loop iterates into it
    for (const auto& w : stats["trees"][0]["workers"]) ASSERT_LE(w["units"].get<int>(), 100);
    p.tick(t0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(p.tree_for("m", KeyKind::kText)->check_invariants(), "");
}

TEST(CacheAware, ConcurrentSelectWhileWorkersLeaveAndReturn) {
  CacheAwarePolicy p(config());
  auto workers = make_workers(4);
  std::atomic<bool> stop{false};
  std::atomic<int> decisions{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      while (!stop.load()) {
        std::string text = "shared system prompt " + std::to_string(rng() % 50);
        // A random available subset, as health flaps would produce.
        std::vector<WorkerPtr> available;
        for (auto& w : workers) {
          if (rng() % 4 != 0) available.push_back(w);
        }
        if (available.empty()) available.push_back(workers[0]);
        auto pick = p.select(available, text_request(text));
        ASSERT_TRUE(pick.has_value());
        ASSERT_LT(*pick, available.size());
        LoadGuard guard(available[*pick], static_cast<int64_t>(text.size()));
        decisions.fetch_add(1);
      }
    });
  }
  // Churn until the selecting threads have made plenty of decisions (bounded wait, no sleeps).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; decisions.load() < 3000 && std::chrono::steady_clock::now() < deadline; ++i) {
    p.on_worker_removed(*workers[static_cast<size_t>(i) % workers.size()]);
    if (i % 50 == 0) p.reset();
    (void)p.stats();
  }
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GE(decisions.load(), 3000);
  ASSERT_NE(p.tree_for("m", KeyKind::kText), nullptr);
  EXPECT_EQ(p.tree_for("m", KeyKind::kText)->check_invariants(), "");
  for (auto& w : workers) {
    EXPECT_EQ(w->in_flight_requests(), 0);
    EXPECT_EQ(w->in_flight_tokens(), 0);
  }
}

}  // namespace
}  // namespace dpserve::router::policies
