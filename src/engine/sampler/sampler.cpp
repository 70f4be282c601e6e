#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dpserve::engine {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Sampler::Sampler(const SamplingParams& params, uint64_t seed, std::span<const int32_t> prompt)
    : params_(params), rng_(seed) {
  if (params_.repetition_penalty != 1.0f) seen_.insert(prompt.begin(), prompt.end());
}

void Sampler::apply_penalties(std::span<float> logits) const {
  const auto vocab = static_cast<int32_t>(logits.size());
  if (params_.repetition_penalty != 1.0f) {
    for (int32_t t : seen_) {
      if (t < 0 || t >= vocab) continue;
      float& l = logits[static_cast<size_t>(t)];
      l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    }
  }
  if (params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f) {
    for (const auto& [t, count] : generated_) {
      if (t < 0 || t >= vocab) continue;
      logits[static_cast<size_t>(t)] -=
          params_.frequency_penalty * static_cast<float>(count) + params_.presence_penalty;
    }
  }
}

int32_t Sampler::draw(std::span<const float> logits) {
  // Candidates by descending logit (ties: lower id first), so the cut-offs below are deterministic.
  const float inv_t = 1.0f / params_.temperature;
  work_.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isfinite(logits[i])) work_.emplace_back(logits[i] * inv_t, static_cast<int32_t>(i));
  }
  if (work_.empty()) return 0;
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = work_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(work_.begin(), work_.begin() + static_cast<ptrdiff_t>(keep), work_.end(),
                      by_logit);
  } else {
    std::sort(work_.begin(), work_.end(), by_logit);
  }
  work_.resize(keep);
  // Softmax over the survivors (in place: first becomes the probability).
  const float max_logit = work_.front().first;
  double total = 0;
  for (auto& [value, token] : work_) total += (value = std::exp(value - max_logit));
  for (auto& c : work_) c.first = static_cast<float>(c.first / total);
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    size_t n = 0;
    while (n < work_.size() && cumulative < params_.top_p) cumulative += work_[n++].first;
    work_.resize(std::max<size_t>(n, 1));
  }
  if (params_.min_p > 0.0f) {
    const float floor = params_.min_p * work_.front().first;
    size_t n = 1;
    while (n < work_.size() && work_[n].first >= floor) ++n;
    work_.resize(n);
  }
  double mass = 0;
  for (const auto& c : work_) mass += c.first;
  double u = rng_.uniform() * mass;
  for (const auto& [p, token] : work_) {
    if ((u -= p) < 0) return token;
  }
  return work_.back().second;  // rounding left u a hair above zero
}

Sample Sampler::sample(std::span<float> logits) {
  Sample out;
  if (params_.return_logprob) raw_.assign(logits.begin(), logits.end());
  apply_penalties(logits);
  if (params_.greedy()) {
    out.token =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    out.token = draw(logits);
  }
  if (params_.return_logprob) {
    float max_logit = -std::numeric_limits<float>::infinity();
    for (float l : raw_) max_logit = std::max(max_logit, l);
    double sum = 0;
    for (float l : raw_) sum += std::exp(static_cast<double>(l - max_logit));
    const float lse = max_logit + static_cast<float>(std::log(sum));
    out.logprob = raw_[static_cast<size_t>(out.token)] - lse;
    const size_t n = std::min(raw_.size(), static_cast<size_t>(params_.top_logprobs_num));
    work_.clear();
    for (size_t i = 0; i < raw_.size(); ++i) work_.emplace_back(raw_[i], static_cast<int32_t>(i));
    std::partial_sort(work_.begin(), work_.begin() + static_cast<ptrdiff_t>(n), work_.end(),
                      [](const auto& a, const auto& b) {
                        return a.first > b.first || (a.first == b.first && a.second < b.second);
                      });
    for (size_t i = 0; i < n; ++i) out.top.push_back({work_[i].second, work_[i].first - lse});
  }
  ++generated_[out.token];
  if (params_.repetition_penalty != 1.0f) seen_.insert(out.token);
  return out;
}

}  // namespace dpserve::engine
