// The OpenAI-compatible /v1/completions and /v1/chat/completions (engine-internals.md §7.3):
// request parsing (with SGLang's sampling extras) and response bodies, whole or as SSE chunks.
// usage.prompt_tokens_details.cached_tokens is always filled.
#pragma once

#include "engine/api/engine_context.h"
#include "engine/api/generation.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

struct OpenAiInput {
  bool chat = false;
  std::vector<PromptJob> prompts;
  bool stream = false;
  bool include_usage = false;
  std::optional<int> routed_dp_rank;
  bool logprobs = false;
  int top_logprobs = 0;
  std::string id;  // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

// Each returns empty when valid, else a 400 message.
std::string parse_completions(const nlohmann::json& body, const EngineContext& context,
                              OpenAiInput& out);
std::string parse_chat(const nlohmann::json& body, const EngineContext& context, OpenAiInput& out);

// The whole non-streaming response body.
nlohmann::json openai_response(Generation& generation, const OpenAiInput& input,
                               const Tokenizer& tokenizer);

// Turns a generation's progress into chunk objects, remembering what each choice was sent.
class OpenAiStream {
 public:
  OpenAiStream(const OpenAiInput& input, size_t samples);
  // Chunks for the samples that changed (a role chunk first for chat, then text deltas, then
  // the finish reason).
  std::vector<nlohmann::json> chunks(Generation& generation, const std::vector<size_t>& changed,
                                     const Tokenizer& tokenizer);
  // The final usage chunk (choices empty), for stream_options.include_usage.
  nlohmann::json usage_chunk(Generation& generation) const;

 private:
  const OpenAiInput& input_;
  std::vector<bool> role_sent_;
  std::vector<size_t> logprobs_sent_;
  std::vector<bool> finish_sent_;
};

}  // namespace dpserve::engine
