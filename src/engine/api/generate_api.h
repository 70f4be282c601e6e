// SGLang's native /generate (engine-internals.md §7.1): request parsing and response bodies.
#pragma once

#include "engine/api/generation.h"
#include "engine/api/prompt_job.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

struct GenerateInput {
  std::vector<PromptJob> prompts;
  bool batch = false;  // list input: the answer is a list
  bool stream = false;
  std::optional<int> routed_dp_rank;
  bool return_logprob = false;
  bool return_text_in_logprobs = false;
};

// Reads the body, tokenises text prompts and fills one PromptJob per prompt. Empty when valid,
// else a 400 message.
std::string parse_generate(const nlohmann::json& body, const Tokenizer& tokenizer,
                           GenerateInput& out);

// The body's routed_dp_rank (or the older data_parallel_rank), or nullopt; *error set when it is
// not an integer.
std::optional<int> read_routed_dp_rank(const nlohmann::json& body, std::string* error);

// One sample's {"text", "output_ids", "meta_info"}: the final answer, or a stream event (text is
// cumulative, as in SGLang's default stream mode).
nlohmann::json generate_result(Generation& generation, size_t sample, const GenerateInput& input,
                               const Tokenizer& tokenizer, bool with_index);

// SGLang's finish_reason object, or null while running.
nlohmann::json finish_reason_json(const std::optional<FinishReason>& finish);

}  // namespace dpserve::engine
