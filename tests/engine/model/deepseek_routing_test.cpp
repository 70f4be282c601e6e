// DeepSeekMoE routing on hand-made gate logits: which experts each top-k method picks and with
// which weights.
#include "engine/model/deepseek_moe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace dpserve::engine {
namespace {

DeepseekConfig config(MoeScoring scoring, MoeTopk method) {
  DeepseekConfig c;
  c.n_routed_experts = 8;
  c.experts_per_tok = 2;
  c.n_group = 4;  // groups {0,1} {2,3} {4,5} {6,7}
  c.topk_group = 2;
  c.scoring = scoring;
  c.topk_method = method;
  return c;
}

std::set<int32_t> chosen(const MoeRouting& r, int64_t row = 0) {
  return {r.experts.begin() + row * r.k, r.experts.begin() + (row + 1) * r.k};
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(DeepseekRoutingTest, GreedySoftmaxTakesTheTwoBestWithSoftmaxWeights) {
  DeepseekConfig c = config(MoeScoring::kSoftmax, MoeTopk::kGreedy);
  c.routed_scaling_factor = 3.0;
  const std::vector<float> logits = {0.1f, 2.0f, 0.0f, 0.0f, 1.5f, 0.0f, 0.2f, 0.0f};
  MoeRouting r;
  route_experts(c, logits.data(), nullptr, 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{1, 4}));
  double denom = 0;
  for (float l : logits) denom += std::exp(l);
  for (int j = 0; j < 2; ++j) {
    // No renormalisation without norm_topk_prob; the scaling factor always applies.
    EXPECT_NEAR(r.weights[j], 3.0 * std::exp(logits[r.experts[j]]) / denom, 1e-6);
  }
}

TEST(DeepseekRoutingTest, GroupLimitedDropsExpertsOfLosingGroups) {
  const DeepseekConfig c = config(MoeScoring::kSoftmax, MoeTopk::kGroupLimitedGreedy);
  // Best experts: 0 (3.0), 1 (2.9) share group 0; 4 (2.0) leads group 2; 6 (2.5) leads group 3.
  // Groups by max: g0 3.0, g3 2.5, g2 2.0 -> keep g0 and g3; expert 4 loses although it beats 7.
  const std::vector<float> logits = {3.0f, 2.9f, 0.0f, 0.0f, 2.0f, 0.0f, 2.5f, 1.0f};
  MoeRouting r;
  route_experts(c, logits.data(), nullptr, 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{0, 1}));
  DeepseekConfig c3 = c;
  c3.experts_per_tok = 3;
  route_experts(c3, logits.data(), nullptr, 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{0, 1, 6}));
}

TEST(DeepseekRoutingTest, NoauxTcBiasSteersChoiceButNotWeights) {
  DeepseekConfig c = config(MoeScoring::kSigmoid, MoeTopk::kNoauxTc);
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  const std::vector<float> logits = {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f};
  const std::vector<float> no_bias(8, 0.0f);
  MoeRouting r;
  route_experts(c, logits.data(), no_bias.data(), 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{0, 1}));
  // A bias lifts group 3 (top-2 sum) and expert 7 within it; group 2 beats group 0 too.
  const std::vector<float> bias = {0.0f, 0.0f, 0.0f, 0.0f, 0.3f, 0.3f, 0.1f, 0.9f};
  route_experts(c, logits.data(), bias.data(), 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{7, 4}));
  const double s7 = sigmoid(0.3), s4 = sigmoid(0.6);
  for (int j = 0; j < 2; ++j) {
    const double s = r.experts[j] == 7 ? s7 : s4;
    EXPECT_NEAR(r.weights[j], 2.5 * s / (s7 + s4), 1e-6);  // unbiased, renormalised, scaled
  }
}

TEST(DeepseekRoutingTest, NoauxTcGroupsRankByTopTwoSumNotMax) {
  const DeepseekConfig c = config(MoeScoring::kSigmoid, MoeTopk::kNoauxTc);
  // Group 0 has the single best expert but a weak second; groups 1 and 2 have two good ones.
  const std::vector<float> logits = {3.0f, -3.0f, 1.5f, 1.5f, 1.4f, 1.4f, -1.0f, -1.0f};
  const std::vector<float> bias(8, 0.0f);
  MoeRouting r;
  route_experts(c, logits.data(), bias.data(), 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{2, 3}));
  // Under group_limited_greedy (max) group 0 survives and expert 0 is picked.
  DeepseekConfig v2 = c;
  v2.topk_method = MoeTopk::kGroupLimitedGreedy;
  route_experts(v2, logits.data(), nullptr, 1, r);
  EXPECT_TRUE(chosen(r).count(0));
}

TEST(DeepseekRoutingTest, MaskedExpertsNeverWinEvenWithNegativeChoiceScores) {
  const DeepseekConfig c = config(MoeScoring::kSigmoid, MoeTopk::kNoauxTc);
  const std::vector<float> logits(8, 0.0f);  // every score 0.5
  // Groups 0 and 1 win on bias, but their biased scores are negative.
  const std::vector<float> bias = {-0.6f, -0.7f, -0.8f, -0.9f, -2.f, -2.f, -2.f, -2.f};
  MoeRouting r;
  route_experts(c, logits.data(), bias.data(), 1, r);
  EXPECT_EQ(chosen(r), (std::set<int32_t>{0, 1}));
}

TEST(DeepseekRoutingTest, RowsAreRoutedIndependently) {
  const DeepseekConfig c = config(MoeScoring::kSoftmax, MoeTopk::kGreedy);
  std::vector<float> logits(16, 0.0f);
  logits[2] = logits[3] = 1.0f;
  logits[8 + 6] = logits[8 + 7] = 1.0f;
  MoeRouting r;
  route_experts(c, logits.data(), nullptr, 2, r);
  EXPECT_EQ(chosen(r, 0), (std::set<int32_t>{2, 3}));
  EXPECT_EQ(chosen(r, 1), (std::set<int32_t>{6, 7}));
}

}  // namespace
}  // namespace dpserve::engine
