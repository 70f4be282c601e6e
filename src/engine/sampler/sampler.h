// Token sampling for one sequence. All state (penalty counts, random stream) lives in the
// sequence's own Sampler, so a request's output depends only on its logits, parameters and seed,
// never on which other requests share the batch.
#pragma once

#include "engine/sampler/sampling_params.h"

#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dpserve::engine {

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct Sample {
  int32_t token = 0;
  float logprob = 0.0f;           // of `token` under the model's raw distribution (if requested)
  std::vector<TokenLogprob> top;  // top_logprobs_num best tokens, most likely first
};

// splitmix64: tiny, fast and fully specified, so seeded outputs are identical across platforms
// (std:: distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, uint64_t seed, std::span<const int32_t> prompt);

  // Picks the next token from one row of logits (modified in place: penalties, temperature) and
  // records it for the penalties.
  Sample sample(std::span<float> logits);

 private:
  void apply_penalties(std::span<float> logits) const;
  int32_t draw(std::span<const float> logits);

  SamplingParams params_;
  Rng rng_;
  std::unordered_map<int32_t, int> generated_;   // token -> times generated
  std::unordered_set<int32_t> seen_;             // prompt or generated
  std::vector<std::pair<float, int32_t>> work_;  // reused candidate buffer
  std::vector<float> raw_;                       // unmodified logits, for logprobs
};

}  // namespace dpserve::engine
