// What a front end submits to a scheduler and what it gets back. Outputs are incremental: one
// RequestOutput per sequence per scheduler step that produced something, the last one with
// `finish`.
#pragma once

#include "engine/sampler/sampler.h"
#include "engine/sampler/sampling_params.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

using Clock = std::chrono::steady_clock;

enum class FinishKind { kStop, kLength, kAbort, kError };

struct FinishReason {
  FinishKind kind = FinishKind::kLength;
  std::optional<int32_t> matched_token;  // the stop token / EOS that ended generation
  std::string matched_str;               // the stop string that ended generation
  std::string message;                   // why, for abort and error
  // SGLang's finish_reason.type: "stop", "length" or "abort" (errors report as "abort" too).
  const char* type() const;
};

// Looks for a stop string in the generated tokens (the front end owns the tokenizer); returns the
// matched string. Runs on the scheduler thread after every token, so it must be cheap.
using StopChecker = std::function<std::optional<std::string>(std::span<const int32_t> output_ids)>;

struct GenerateRequest {
  std::string id;  // unique among live requests; abort() takes it
  std::vector<int32_t> input_ids;
  SamplingParams sampling;
  int max_new_tokens = 128;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  int n = 1;  // parallel samples; sample i uses seed + i and shares the prompt's cached prefix
  StopChecker stop_checker;
};

struct RequestOutput {
  std::string id;
  int index = 0;                                        // which of the n samples
  std::vector<int32_t> token_ids;                       // new since this sample's previous output
  std::vector<float> logprobs;                          // per new token, when return_logprob
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per new token, top_logprobs_num each
  std::optional<FinishReason> finish;
  int prompt_tokens = 0;
  int completion_tokens = 0;  // total so far
  int cached_tokens = 0;      // prompt tokens served from the prefix cache
  Clock::time_point arrival_time;
  Clock::time_point first_token_time;  // equals `time` on the first token
  Clock::time_point time;              // when this output was produced
};

// Called on the scheduler thread; must not block (hand the output to your own queue or socket).
using OutputCallback = std::function<void(const RequestOutput&)>;

}  // namespace dpserve::engine
