#include "engine/api/prompt_job.h"

#include "engine/api/field_reader.h"
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

namespace dpserve::engine {

namespace {

// Constrained decoding and friends: refused by name rather than silently ignored.
constexpr const char* kUnsupported[] = {"json_schema",    "regex",         "ebnf",
                                        "structural_tag", "custom_params", "logit_bias"};

}  // namespace

void read_sampling_params(FieldReader& r, bool openai, PromptJob& job) {
  GenerateRequest& q = job.request;
  SamplingParams& s = q.sampling;
  if (openai) {
    r.get("max_tokens", q.max_new_tokens);
    r.get("max_completion_tokens", q.max_new_tokens);
    r.get("seed", s.seed);
  } else {
    r.reject_unknown({"max_new_tokens",
                      "temperature",
                      "top_p",
                      "top_k",
                      "min_p",
                      "frequency_penalty",
                      "presence_penalty",
                      "repetition_penalty",
                      "stop",
                      "stop_token_ids",
                      "ignore_eos",
                      "n",
                      "skip_special_tokens",
                      "no_stop_trim",
                      "seed",
                      "sampling_seed",
                      "min_new_tokens",
                      "json_schema",
                      "regex",
                      "ebnf",
                      "structural_tag",
                      "custom_params",
                      "logit_bias"});
    r.get("max_new_tokens", q.max_new_tokens);
    r.get("seed", s.seed);
    r.get("sampling_seed", s.seed);
  }
  r.get("temperature", s.temperature);
  r.get("top_p", s.top_p);
  r.get("top_k", s.top_k);
  r.get("min_p", s.min_p);
  r.get("frequency_penalty", s.frequency_penalty);
  r.get("presence_penalty", s.presence_penalty);
  r.get("repetition_penalty", s.repetition_penalty);
  r.get_strings("stop", job.stop);
  r.get_ids("stop_token_ids", q.stop_token_ids);
  r.get("ignore_eos", q.ignore_eos);
  r.get("n", q.n);
  r.get("skip_special_tokens", job.skip_special_tokens);
  r.get("no_stop_trim", job.no_stop_trim);
  int min_new_tokens = 0;
  r.get("min_new_tokens", min_new_tokens);
  if (min_new_tokens != 0) r.fail("min_new_tokens is not supported");
  for (const char* key : kUnsupported) {
    const nlohmann::json* v = r.find(key);
    if (v == nullptr || (v->is_object() && v->empty())) continue;
    r.fail(std::string(key) + " is not supported by this engine");
  }
}

std::string finalize_prompt_job(PromptJob& job, const Tokenizer& tokenizer) {
  GenerateRequest& q = job.request;
  if (q.max_new_tokens < 0) return "max_new_tokens must be >= 0";
  if (q.n < 1 || q.n > 128) return "n must be in [1, 128]";
  if (q.sampling.top_logprobs_num > 20) return "top_logprobs_num must be <= 20";
  if (std::string error = q.sampling.validate(); !error.empty()) return error;
  std::erase_if(job.stop, [](const std::string& s) { return s.empty(); });
  if (job.stop.size() > 16) return "at most 16 stop strings are allowed";
  if (job.stop.empty()) return {};
  size_t longest = 0;
  for (const auto& s : job.stop) longest = std::max(longest, s.size());
  // A stop string needs at most one token per byte, plus a few for partial code points.
  const size_t window = longest + 4;
  q.stop_checker = [&tokenizer, stops = job.stop, window, skip = job.skip_special_tokens](
                       std::span<const int32_t> ids) -> std::optional<std::string> {
    const size_t take = std::min(ids.size(), window);
    const std::string tail = tokenizer.decode(ids.subspan(ids.size() - take), skip);
    for (const auto& stop : stops) {
      if (tail.find(stop) != std::string::npos) return stop;
    }
    return std::nullopt;
  };
  return {};
}

}  // namespace dpserve::engine
