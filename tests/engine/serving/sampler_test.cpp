#include "engine/sampler/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace dpserve::engine {
namespace {

Sample sample_once(SamplingParams p, std::vector<float> logits, uint64_t seed = 1,
                   std::vector<int32_t> prompt = {}) {
  Sampler s(p, seed, prompt);
  return s.sample(logits);
}

std::vector<int> histogram(SamplingParams p, const std::vector<float>& logits, int draws) {
  std::vector<int> counts(logits.size());
  Sampler s(p, 42, {});
  for (int i = 0; i < draws; ++i) {
    std::vector<float> row = logits;
    ++counts[static_cast<size_t>(s.sample(row).token)];
  }
  return counts;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  EXPECT_EQ(sample_once(p, {0.1f, 3.0f, -1.0f, 3.0f}).token, 1);
  p.temperature = 1;
  p.top_k = 1;
  EXPECT_EQ(sample_once(p, {0.1f, 3.0f, -1.0f, 2.0f}).token, 1);
}

TEST(Sampler, SameSeedSameStreamDifferentSeedDiffers) {
  SamplingParams p;
  std::vector<float> logits(50, 0.0f);
  auto run = [&](uint64_t seed) {
    Sampler s(p, seed, {});
    std::vector<int32_t> out;
    for (int i = 0; i < 32; ++i) {
      std::vector<float> row = logits;
      out.push_back(s.sample(row).token);
    }
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, TemperatureOneFollowsSoftmax) {
  SamplingParams p;
  // p = 1/3, 2/3
  auto counts = histogram(p, {0.0f, std::log(2.0f)}, 30000);
  EXPECT_NEAR(counts[1] / 30000.0, 2.0 / 3.0, 0.015);
}

TEST(Sampler, LowTemperatureSharpens) {
  SamplingParams p;
  p.temperature = 0.25f;  // ratio 2 -> 16
  auto counts = histogram(p, {0.0f, std::log(2.0f)}, 20000);
  EXPECT_NEAR(counts[1] / 20000.0, 16.0 / 17.0, 0.01);
}

TEST(Sampler, TopKTopPMinPCutTheTail) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  SamplingParams k;
  k.top_k = 2;
  auto c = histogram(k, logits, 5000);
  EXPECT_EQ(c[2] + c[3], 0);
  EXPECT_GT(c[1], 0);
  SamplingParams top_p;
  top_p.top_p = 0.7f;  // 0.5 + 0.3 reaches it
  c = histogram(top_p, logits, 5000);
  EXPECT_EQ(c[2] + c[3], 0);
  EXPECT_NEAR(c[0] / 5000.0, 0.5 / 0.8, 0.03);
  top_p.top_p = 0.4f;
  c = histogram(top_p, logits, 1000);
  EXPECT_EQ(c[0], 1000);
  SamplingParams min_p;
  min_p.min_p = 0.35f;  // keeps p >= 0.175: tokens 0 and 1
  c = histogram(min_p, logits, 5000);
  EXPECT_EQ(c[2] + c[3], 0);
  EXPECT_GT(c[1], 0);
}

TEST(Sampler, FrequencyAndPresencePenalties) {
  SamplingParams p;
  p.temperature = 0;
  p.frequency_penalty = 0.6f;
  Sampler s(p, 1, {});
  // Token 0 leads by 1.0: picked twice (penalty 0.6, then 1.2 > 1.0), then token 1.
  std::vector<int32_t> got;
  for (int i = 0; i < 3; ++i) {
    std::vector<float> row = {1.0f, 0.0f};
    got.push_back(s.sample(row).token);
  }
  EXPECT_EQ(got, (std::vector<int32_t>{0, 0, 1}));

  SamplingParams q;
  q.temperature = 0;
  q.presence_penalty = 1.5f;  // flat: generated once is enough
  Sampler t(q, 1, {});
  got.clear();
  for (int i = 0; i < 3; ++i) {
    std::vector<float> row = {1.0f, 0.0f, -0.2f};
    got.push_back(t.sample(row).token);
  }
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2}));
}

TEST(Sampler, RepetitionPenaltyCoversPromptAndSign) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.0f;
  // Prompt token 0: 2.0 -> 1.0 loses to 1.5.
  EXPECT_EQ(sample_once(p, {2.0f, 1.5f}, 1, {0}).token, 1);
  // Negative logits are multiplied: -0.1 -> -0.2 loses to -0.15.
  EXPECT_EQ(sample_once(p, {-0.1f, -0.15f}, 1, {0}).token, 1);
  EXPECT_EQ(sample_once(p, {2.0f, 1.5f}, 1, {}).token, 0);
}

TEST(Sampler, LogprobsAreLogSoftmaxOfRawLogits) {
  SamplingParams p;
  p.temperature = 0;
  p.return_logprob = true;
  p.top_logprobs_num = 2;
  p.frequency_penalty = 1.0f;  // logprobs ignore processing
  std::vector<float> logits = {1.0f, 2.0f, 0.5f};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.5));
  Sample s = sample_once(p, logits);
  EXPECT_EQ(s.token, 1);
  EXPECT_NEAR(s.logprob, 2.0 - lse, 1e-5);
  ASSERT_EQ(s.top.size(), 2u);
  EXPECT_EQ(s.top[0].token, 1);
  EXPECT_EQ(s.top[1].token, 0);
  EXPECT_NEAR(s.top[1].logprob, 1.0 - lse, 1e-5);
}

TEST(SamplingParams, Validation) {
  SamplingParams ok;
  EXPECT_EQ(ok.validate(), "");
  auto bad = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    return !p.validate().empty();
  };
  EXPECT_TRUE(bad([](auto& p) { p.temperature = -1; }));
  EXPECT_TRUE(bad([](auto& p) { p.top_p = 0; }));
  EXPECT_TRUE(bad([](auto& p) { p.top_p = 1.5f; }));
  EXPECT_TRUE(bad([](auto& p) { p.top_k = 0; }));
  EXPECT_TRUE(bad([](auto& p) { p.min_p = 2; }));
  EXPECT_TRUE(bad([](auto& p) { p.frequency_penalty = 3; }));
  EXPECT_TRUE(bad([](auto& p) { p.presence_penalty = -3; }));
  EXPECT_TRUE(bad([](auto& p) { p.repetition_penalty = 0; }));
  EXPECT_TRUE(bad([](auto& p) { p.top_logprobs_num = -1; }));
  EXPECT_TRUE(bad([](auto& p) { p.temperature = NAN; }));
}

}  // namespace
}  // namespace dpserve::engine
