// Per-request sampling knobs, with SGLang's names and defaults (engine-internals.md §7.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dpserve::engine {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  int top_k = -1;            // -1 = whole vocabulary
  float top_p = 1.0f;
  float min_p = 0.0f;
  float frequency_penalty = 0.0f;   // OpenAI style, on generated tokens
  float presence_penalty = 0.0f;    // OpenAI style, on generated tokens
  float repetition_penalty = 1.0f;  // CTRL style, on prompt and generated tokens
  std::optional<uint64_t> seed;     // same seed + same prompt = same output
  bool return_logprob = false;
  int top_logprobs_num = 0;

  bool greedy() const { return temperature < 1e-6f || top_k == 1; }
  // Empty when valid, else why not (for a 400).
  std::string validate() const;
};

}  // namespace dpserve::engine
