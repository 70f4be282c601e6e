#include "engine/sched/scheduler.h"

#include "engine/serving/scheduler_harness.h"

#include <gtest/gtest.h>

namespace dpserve::engine {
namespace {

using testing::make_request;
using testing::random_tokens;
using testing::run_alone;
using testing::SchedulerHarness;
using testing::small_config;

// Built by append: GCC 12 warns (-Wrestrict, a known false positive) on "r" + std::to_string(i).
std::string rid(int i) {
  std::string id = "r";
  id += std::to_string(i);
  return id;
}

TEST(Scheduler, GreedyIsDeterministicAndFinishesByLength) {
  auto a = run_alone(make_request("a", random_tokens(1, 30), 20));
  auto b = run_alone(make_request("a", random_tokens(1, 30), 20));
  EXPECT_EQ(a.tokens.size(), 20u);
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_TRUE(a.finish);
  EXPECT_EQ(a.finish->kind, FinishKind::kLength);
  EXPECT_EQ(a.prompt_tokens, 30);
  EXPECT_EQ(a.completion_tokens, 20);
  EXPECT_EQ(a.outputs, 20);  // streamed one token per step
  // A different prompt gives a different continuation (the fake model really reads its KV).
  EXPECT_NE(run_alone(make_request("a", random_tokens(2, 30), 20)).tokens, a.tokens);
}

// A prompt's output is the same alone and among 16 concurrent requests, greedy and seeded sampling,
// with pages of 1 and 4 tokens.
TEST(Scheduler, BatchInvariance) {
  for (int page_size : {1, 4}) {
    for (float temperature : {0.0f, 0.9f}) {
      auto probe = make_request("probe", random_tokens(7, 37), 24, temperature);
      auto alone = run_alone(probe, small_config(4096, page_size));
      SchedulerHarness h(small_config(4096, page_size));
      for (int i = 0; i < 16; ++i) {
        // Half of them share a prefix with the probe so prefix caching is in play too.
        auto prompt = random_tokens(100 + static_cast<uint32_t>(i), 20 + static_cast<size_t>(i));
        if (i % 2 == 0) {
          auto p = random_tokens(7, 37);
          p.resize(10 + static_cast<size_t>(i));
          prompt.insert(prompt.begin(), p.begin(), p.end());
        }
        auto r = make_request(rid(i), prompt, 10 + i, temperature);
        r.sampling.seed = static_cast<uint64_t>(i);
        ASSERT_EQ(h.add(r), "");
        if (i == 8) {
          ASSERT_EQ(h.add(probe), "");
        }
      }
      h.run();
      EXPECT_EQ(h.get("probe").tokens, alone.tokens)
          << "page_size " << page_size << " temperature " << temperature;
      EXPECT_GT(h.max_running_seen, 8);
    }
  }
}

TEST(Scheduler, CacheInvarianceAndCachedTokens) {
  for (int page_size : {1, 4}) {
    auto shared = random_tokens(11, 60);
    auto second_prompt = shared;
    auto tail = random_tokens(12, 15);
    second_prompt.resize(50);
    second_prompt.insert(second_prompt.end(), tail.begin(), tail.end());
    SchedulerHarness h(small_config(4096, page_size));
    ASSERT_EQ(h.add(make_request("first", shared, 8)), "");
    h.run();
    ASSERT_EQ(h.add(make_request("second", second_prompt, 8)), "");
    ASSERT_EQ(h.add(make_request("again", shared, 8)), "");
    h.run();
    EXPECT_EQ(h.get("first").cached_tokens, 0);
    EXPECT_EQ(h.get("second").cached_tokens, 50 / page_size * page_size);
    // The full prompt minus the one token that must be computed, page aligned.
    EXPECT_EQ(h.get("again").cached_tokens, 59 / page_size * page_size);
    EXPECT_EQ(h.get("again").tokens, h.get("first").tokens);
    EXPECT_EQ(
        h.get("second").tokens,
        run_alone(make_request("second", second_prompt, 8), small_config(4096, page_size)).tokens);
    const SchedulerLoad l = h.scheduler.load();
    EXPECT_EQ(l.prompt_tokens_total, 60 + 65 + 60);
    EXPECT_EQ(l.cached_prompt_tokens_total,
              h.get("second").cached_tokens + h.get("again").cached_tokens);
    EXPECT_GT(l.cache_hit_rate(), 0.0);
  }
}

// Requests arriving together with a long common prefix: the first computes it, the others wait one
// round and hit the cache instead of computing it again.
TEST(Scheduler, InBatchPrefixSharing) {
  auto system_prompt = random_tokens(50, 100);
  SchedulerHarness h(small_config());
  std::vector<GenerateRequest> requests;
  for (int i = 0; i < 4; ++i) {
    auto prompt = system_prompt;
    auto tail = random_tokens(60 + static_cast<uint32_t>(i), 10);
    prompt.insert(prompt.end(), tail.begin(), tail.end());
    requests.push_back(make_request(rid(i), prompt, 6));
    ASSERT_EQ(h.add(requests.back()), "");
  }
  ASSERT_EQ(h.add(make_request("unrelated", random_tokens(70, 100), 6)), "");
  ASSERT_TRUE(h.scheduler.step());  // r0 and the unrelated prompt; r1..r3 deferred
  EXPECT_EQ(h.scheduler.load().num_running, 2);
  h.run();
  EXPECT_EQ(h.get("r0").cached_tokens, 0);
  EXPECT_EQ(h.get("unrelated").cached_tokens, 0);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(h.get(rid(i)).cached_tokens, 100) << i;
    EXPECT_EQ(h.get(rid(i)).tokens, run_alone(requests[static_cast<size_t>(i)]).tokens);
  }
}

TEST(Scheduler, DisabledRadixCacheReportsNoHits) {
  auto config = small_config();
  config.disable_radix_cache = true;
  SchedulerHarness h(config);
  auto prompt = random_tokens(3, 40);
  ASSERT_EQ(h.add(make_request("a", prompt, 5)), "");
  h.run();
  ASSERT_EQ(h.add(make_request("b", prompt, 5)), "");
  h.run();
  EXPECT_EQ(h.get("b").cached_tokens, 0);
  EXPECT_EQ(h.get("a").tokens, h.get("b").tokens);
  EXPECT_EQ(h.scheduler.load().cached_tokens_in_tree, 0);
}

TEST(Scheduler, ChunkedPrefillEqualsUnchunked) {
  for (int page_size : {1, 4}) {
    auto prompt = random_tokens(21, 150);
    auto unchunked = small_config(4096, page_size);
    unchunked.chunked_prefill_size = 0;
    auto chunked = small_config(4096, page_size);
    chunked.chunked_prefill_size = 10;  // cut to 8 with pages of 4
    SchedulerHarness a(unchunked);
    SchedulerHarness b(chunked);
    for (auto* h : {&a, &b}) {
      ASSERT_EQ(h->add(make_request("long", prompt, 12)), "");
      ASSERT_EQ(h->add(make_request("short", random_tokens(22, 9), 12)), "");
      h->run();
    }
    EXPECT_EQ(a.get("long").tokens, b.get("long").tokens);
    EXPECT_EQ(a.get("short").tokens, b.get("short").tokens);
    // 150 tokens in chunks of at most 10 -> 15+ prefill passes for the long prompt alone.
    EXPECT_GE(b.model().forward_calls.load(), a.model().forward_calls.load() + 9);
  }
}

TEST(Scheduler, MaxPrefillTokensSplitsBatches) {
  auto config = small_config();
  config.max_prefill_tokens = 40;
  config.chunked_prefill_size = 0;
  SchedulerHarness h(config);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(h.add(make_request(rid(i), random_tokens(30 + i, 30), 2)), "");
  }
  ASSERT_TRUE(h.scheduler.step());  // first prefill batch: only one 30-token prompt fits in 40
  EXPECT_EQ(h.scheduler.load().num_running, 1);
  EXPECT_EQ(h.scheduler.load().num_waiting, 3);
  h.run();
}

TEST(Scheduler, RetractionUnderTinyKvFinishesEveryRequest) {
  for (int page_size : {1, 4}) {
    // 8 requests x (20 prompt + 40 output) = 480 tokens of demand on a 128-token pool.
    // An optimistic output reservation admits more than fits, so decode must retract.
    auto config = small_config(128, page_size);
    config.init_new_token_ratio = 0.1;
    config.min_new_token_ratio = 0.05;
    SchedulerHarness h(config);
    std::vector<GenerateRequest> requests;
    for (int i = 0; i < 8; ++i) {
      requests.push_back(make_request(rid(i), random_tokens(40 + i, 20), 40, 0.7f));
      ASSERT_EQ(h.add(requests.back()), "");
    }
    h.run();
    EXPECT_GT(h.scheduler.load().retractions_total, 0);
    for (const auto& r : requests) {
      const auto& got = h.get(r.id);
      ASSERT_TRUE(got.finish) << r.id;
      EXPECT_EQ(got.finish->kind, FinishKind::kLength) << r.id;
      // Retraction keeps generated tokens and the sampler state: output equals a solo run.
      EXPECT_EQ(got.tokens, run_alone(r).tokens) << r.id << " page_size " << page_size;
    }
  }
}

TEST(Scheduler, AbortFreesEverythingWherever) {
  auto config = small_config(4096, 4);
  config.chunked_prefill_size = 16;
  config.max_running_requests = 2;
  SchedulerHarness h(config);
  ASSERT_EQ(h.add(make_request("decoding", random_tokens(1, 10), 100)), "");
  ASSERT_EQ(h.add(make_request("chunked", random_tokens(2, 200), 100)), "");
  ASSERT_EQ(h.add(make_request("waiting", random_tokens(3, 10), 100)), "");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.scheduler.step());
  EXPECT_FALSE(h.scheduler.abort("nope"));
  for (const char* id : {"decoding", "chunked", "waiting"}) {
    EXPECT_TRUE(h.scheduler.abort(id, "client went away"));
    ASSERT_EQ(h.scheduler.check_invariants(), "");
    ASSERT_TRUE(h.get(id).finish);
    EXPECT_EQ(h.get(id).finish->kind, FinishKind::kAbort);
    EXPECT_EQ(h.get(id).finish->message, "client went away");
  }
  EXPECT_TRUE(h.scheduler.idle());
  EXPECT_FALSE(h.scheduler.step());
  const SchedulerLoad l = h.scheduler.load();
  EXPECT_EQ(l.num_running + l.num_waiting, 0);
  EXPECT_EQ(l.num_used_tokens, 0);  // everything left is free or evictable cache
  EXPECT_TRUE(h.scheduler.flush_cache());
  EXPECT_EQ(h.scheduler.load().cached_tokens_in_tree, 0);
  // The id can be reused once the request is gone.
  EXPECT_EQ(h.add(make_request("decoding", random_tokens(1, 10), 3)), "");
  EXPECT_FALSE(h.scheduler.flush_cache());  // refused while work is queued
  h.run();
}

TEST(Scheduler, LpmAdmitsLongestCachedPrefixFirstFcfsByArrival) {
  for (auto policy : {SchedulePolicy::kLpm, SchedulePolicy::kFcfs}) {
    auto config = small_config();
    config.policy = policy;
    config.max_running_requests = 1;
    SchedulerHarness h(config);
    auto warm = random_tokens(5, 40);
    ASSERT_EQ(h.add(make_request("warm", warm, 2)), "");
    h.run();
    auto hit = warm;
    hit.push_back(3);
    ASSERT_EQ(h.add(make_request("cold", random_tokens(6, 40), 2)), "");
    ASSERT_EQ(h.add(make_request("hit", hit, 2)), "");
    h.run();
    ASSERT_EQ(h.first_output_order.size(), 3u);
    EXPECT_EQ(h.first_output_order[1], policy == SchedulePolicy::kLpm ? "hit" : "cold");
    EXPECT_EQ(h.max_running_seen, 1);
  }
}

TEST(Scheduler, StopTokensEosAndIgnoreEos) {
  auto base = make_request("x", random_tokens(9, 12), 10);
  auto free_run = run_alone(base).tokens;
  ASSERT_EQ(free_run.size(), 10u);
  const int32_t third = free_run[2];
  const auto first_at =
      static_cast<size_t>(std::find(free_run.begin(), free_run.end(), third) - free_run.begin());

  auto with_stop = base;
  with_stop.stop_token_ids = {third};
  auto got = run_alone(with_stop);
  ASSERT_TRUE(got.finish);
  EXPECT_EQ(got.finish->kind, FinishKind::kStop);
  EXPECT_EQ(got.finish->matched_token, third);
  EXPECT_EQ(got.tokens.size(), first_at + 1);

  testing::FakeModel eos_model(64, {third});
  for (bool ignore : {false, true}) {
    testing::SchedulerHarness h(small_config(), &eos_model);
    auto r = base;
    r.ignore_eos = ignore;
    ASSERT_EQ(h.add(r), "");
    h.run();
    EXPECT_EQ(h.get("x").tokens.size(), ignore ? 10u : first_at + 1);
    EXPECT_EQ(h.get("x").finish->type(), std::string(ignore ? "length" : "stop"));
  }
}

TEST(Scheduler, StopCheckerEndsWithMatchedString) {
  auto r = make_request("s", random_tokens(4, 8), 50);
  r.stop_checker = [](std::span<const int32_t> out) -> std::optional<std::string> {
    if (out.size() == 3) return "STOP";
    return std::nullopt;
  };
  auto got = run_alone(r);
  EXPECT_EQ(got.tokens.size(), 3u);
  ASSERT_TRUE(got.finish);
  EXPECT_EQ(got.finish->kind, FinishKind::kStop);
  EXPECT_EQ(got.finish->matched_str, "STOP");
}

TEST(Scheduler, ParallelSamplesShareThePromptAndAreSeeded) {
  auto r = make_request("n", random_tokens(8, 33), 12, 1.0f);
  r.n = 3;
  r.sampling.seed = 99;
  SchedulerHarness h(small_config());
  ASSERT_EQ(h.add(r), "");
  h.run();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.get("n", i).tokens.size(), 12u);
    if (i > 0) {
      EXPECT_EQ(h.get("n", i).cached_tokens, 32) << i;  // prompt cached by sample 0
    }
  }
  EXPECT_NE(h.get("n", 0).tokens, h.get("n", 1).tokens);
  // Sample i is the same as a single request seeded with seed + i.
  auto single = r;
  single.n = 1;
  single.sampling.seed = 101;
  EXPECT_EQ(run_alone(single).tokens, h.get("n", 2).tokens);
}

TEST(Scheduler, LogprobsPerToken) {
  auto r = make_request("lp", random_tokens(4, 8), 5);
  r.sampling.return_logprob = true;
  r.sampling.top_logprobs_num = 3;
  auto got = run_alone(r);
  ASSERT_EQ(got.logprobs.size(), 5u);
  ASSERT_EQ(got.top_logprobs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(got.top_logprobs[i].size(), 3u);
    EXPECT_EQ(got.top_logprobs[i][0].token, got.tokens[i]);  // greedy = most likely
    EXPECT_FLOAT_EQ(got.top_logprobs[i][0].logprob, got.logprobs[i]);
    EXPECT_LT(got.logprobs[i], 0.0f);
  }
}

TEST(Scheduler, ZeroMaxNewTokensFinishesAtOnce) {
  SchedulerHarness h(small_config());
  ASSERT_EQ(h.add(make_request("z", random_tokens(1, 5), 0)), "");
  ASSERT_TRUE(h.get("z").finish);
  EXPECT_EQ(h.get("z").finish->kind, FinishKind::kLength);
  EXPECT_TRUE(h.get("z").tokens.empty());
  EXPECT_TRUE(h.scheduler.idle());
}

TEST(Scheduler, RejectsBadRequests) {
  testing::FakeModel model(64, {}, /*context=*/100);
  SchedulerHarness h(small_config(80), &model);
  auto bad = [&](GenerateRequest r) { return h.add(std::move(r)); };
  EXPECT_NE(bad(make_request("e", {}, 5)), "");
  EXPECT_NE(bad(make_request("v", {1, 64}, 5)).find("vocabulary"), std::string::npos);
  EXPECT_NE(bad(make_request("m", {1, 2}, -1)), "");
  EXPECT_NE(bad(make_request("c", random_tokens(1, 100), 1)).find("context length"),
            std::string::npos);
  EXPECT_NE(bad(make_request("t", random_tokens(1, 60), 50)).find("context length"),
            std::string::npos);
  EXPECT_NE(bad(make_request("k", random_tokens(1, 60), 30)).find("KV cache"), std::string::npos);
  auto n0 = make_request("n", {1}, 5);
  n0.n = 0;
  EXPECT_NE(bad(n0), "");
  auto temp = make_request("t", {1}, 5);
  temp.sampling.temperature = -1;
  EXPECT_NE(bad(temp), "");
  EXPECT_EQ(bad(make_request("dup", {1, 2}, 5)), "");
  EXPECT_NE(bad(make_request("dup", {1, 2}, 5)).find("already in use"), std::string::npos);
  h.run();
}

TEST(Scheduler, RejectsBadConfig) {
  testing::FakeModel model;
  auto config = small_config();
  config.page_size = 0;
  EXPECT_THROW(Scheduler(config, model), std::invalid_argument);
  config = small_config(4096, 16);
  config.chunked_prefill_size = 8;
  EXPECT_THROW(Scheduler(config, model), std::invalid_argument);
  config = small_config();
  config.max_running_requests = 0;
  EXPECT_THROW(Scheduler(config, model), std::invalid_argument);
  EXPECT_EQ(parse_schedule_policy("lpm"), SchedulePolicy::kLpm);
  EXPECT_EQ(parse_schedule_policy("fcfs"), SchedulePolicy::kFcfs);
  EXPECT_FALSE(parse_schedule_policy("dfs-weight"));
}

}  // namespace
}  // namespace dpserve::engine
