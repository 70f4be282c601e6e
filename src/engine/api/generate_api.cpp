#include "engine/api/generate_api.h"

#include "common/random_id.h"
#include "engine/api/field_reader.h"

#include <algorithm>

namespace dpserve::engine {

using nlohmann::json;

namespace {

constexpr const char* kUnsupportedInputs[] = {
    "input_embeds",           "image_data",    "audio_data", "lora_path",
    "custom_logit_processor", "session_params"};

// The prompts as token ids: `text` (string or list) or `input_ids` (list or list of lists).
std::string read_prompts(const json& body, const Tokenizer& tokenizer,
                         std::vector<std::vector<int32_t>>& prompts, bool& batch) {
  const bool has_text = body.contains("text") && !body["text"].is_null();
  const bool has_ids = body.contains("input_ids") && !body["input_ids"].is_null();
  if (has_text == has_ids) return "exactly one of text or input_ids must be given";
  if (has_text) {
    const json& text = body["text"];
    if (text.is_string()) {
      prompts.push_back(tokenizer.encode(text.get<std::string>(), true));
      return {};
    }
    if (!text.is_array() || text.empty()) return "text must be a string or a non-empty list";
    batch = true;
    for (const auto& item : text) {
      if (!item.is_string()) return "text must be a string or a list of strings";
      prompts.push_back(tokenizer.encode(item.get<std::string>(), true));
    }
    return {};
  }
  const json& ids = body["input_ids"];
  if (!ids.is_array() || ids.empty()) return "input_ids must be a non-empty list";
  std::string error;
  if (ids[0].is_array()) {
    batch = true;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto one = read_ids(ids[i], "input_ids[" + std::to_string(i) + "]", &error);
      if (!one) return error;
      prompts.push_back(std::move(*one));
    }
    return {};
  }
  auto one = read_ids(ids, "input_ids", &error);
  if (!one) return error;
  prompts.push_back(std::move(*one));
  return {};
}

json logprob_entry(float logprob, int32_t token, const Tokenizer& tokenizer, bool with_text) {
  json entry = json::array();
  entry.push_back(logprob);
  entry.push_back(token);
  if (with_text) {
    entry.push_back(tokenizer.token_to_piece(token));
  } else {
    entry.push_back(nullptr);
  }
  return entry;
}

}  // namespace

std::optional<int> read_routed_dp_rank(const json& body, std::string* error) {
  for (const char* key : {"routed_dp_rank", "data_parallel_rank"}) {
    if (!body.is_object() || !body.contains(key) || body[key].is_null()) continue;
    const json& v = body[key];
    if (!v.is_number_integer()) {
      *error = std::string(key) + " must be an integer";
      return std::nullopt;
    }
    return static_cast<int>(std::clamp<int64_t>(v.get<int64_t>(), -1, 1 << 20));
  }
  return std::nullopt;
}

std::string parse_generate(const json& body, const Tokenizer& tokenizer, GenerateInput& out) {
  if (!body.is_object()) return "the body must be a JSON object";
  for (const char* key : kUnsupportedInputs) {
    if (body.contains(key) && !body[key].is_null()) {
      return std::string(key) + " is not supported by this engine";
    }
  }
  FieldReader top(body, "");
  top.get("stream", out.stream);
  top.get("return_logprob", out.return_logprob);
  top.get("return_text_in_logprobs", out.return_text_in_logprobs);
  int top_logprobs_num = 0;
  top.get("top_logprobs_num", top_logprobs_num);
  int logprob_start_len = -1;
  top.get("logprob_start_len", logprob_start_len);
  if (!top.ok()) return top.error();
  if (out.return_logprob && logprob_start_len >= 0) {
    return "input token logprobs (logprob_start_len >= 0) are not supported";
  }
  std::string error;
  out.routed_dp_rank = read_routed_dp_rank(body, &error);
  if (!error.empty()) return error;

  std::vector<std::vector<int32_t>> prompts;
  if (error = read_prompts(body, tokenizer, prompts, out.batch); !error.empty()) return error;

  std::vector<std::string> rids;
  if (body.contains("rid") && !body["rid"].is_null()) {
    top.get_strings("rid", rids);
    if (!top.ok()) return top.error();
    if (rids.size() != prompts.size()) return "rid must have one id per prompt";
  }
  const json* params = body.contains("sampling_params") ? &body["sampling_params"] : nullptr;
  if (params != nullptr && params->is_array() && params->size() != prompts.size()) {
    return "sampling_params must be an object or a list with one object per prompt";
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    PromptJob job;
    job.request.id = rids.empty() ? common::random_alnum("", 32) : rids[i];
    job.request.input_ids = std::move(prompts[i]);
    job.request.sampling.return_logprob = out.return_logprob;
    job.request.sampling.top_logprobs_num = out.return_logprob ? top_logprobs_num : 0;
    if (params != nullptr && !params->is_null()) {
      const json& p = params->is_array() ? (*params)[i] : *params;
      FieldReader reader(p, "sampling_params.");
      read_sampling_params(reader, false, job);
      if (!reader.ok()) return reader.error();
    }
    if (error = finalize_prompt_job(job, tokenizer); !error.empty()) return error;
    out.prompts.push_back(std::move(job));
  }
  return {};
}

json finish_reason_json(const std::optional<FinishReason>& finish) {
  if (!finish) return nullptr;
  json reason = {{"type", finish->type()}};
  switch (finish->kind) {
    case FinishKind::kStop:
      if (!finish->matched_str.empty()) {
        reason["matched"] = finish->matched_str;
      } else if (finish->matched_token) {
        reason["matched"] = *finish->matched_token;
      }
      break;
    case FinishKind::kLength:
      break;
    case FinishKind::kAbort:
    case FinishKind::kError:
      reason["message"] = finish->message;
      break;
  }
  return reason;
}

json generate_result(Generation& generation, size_t sample, const GenerateInput& input,
                     const Tokenizer& tokenizer, bool with_index) {
  SampleState& s = generation.samples()[sample];
  json meta = {{"id", s.rid},
               {"finish_reason", finish_reason_json(s.finish)},
               {"prompt_tokens", s.prompt_tokens},
               {"completion_tokens", s.completion_tokens},
               {"cached_tokens", s.cached_tokens}};
  if (s.finish) {
    if (s.finish->kind == FinishKind::kLength) {
      meta["finish_reason"]["length"] = s.completion_tokens;
    }
    meta["e2e_latency"] = s.e2e_latency;
  }
  if (input.return_logprob) {
    json tokens = json::array();
    json tops = json::array();
    for (size_t i = 0; i < s.logprobs.size() && i < s.output_ids.size(); ++i) {
      tokens.push_back(
          logprob_entry(s.logprobs[i], s.output_ids[i], tokenizer, input.return_text_in_logprobs));
      json top = json::array();
      if (i < s.top_logprobs.size()) {
        for (const auto& t : s.top_logprobs[i]) {
          top.push_back(
              logprob_entry(t.logprob, t.token, tokenizer, input.return_text_in_logprobs));
        }
      }
      tops.push_back(std::move(top));
    }
    meta["input_token_logprobs"] = json::array();
    meta["output_token_logprobs"] = std::move(tokens);
    if (generation.prompts()[s.prompt].request.sampling.top_logprobs_num > 0) {
      meta["output_top_logprobs"] = std::move(tops);
    }
  }
  json result = {{"text", std::string(s.text.visible())},
                 {"output_ids", s.output_ids},
                 {"meta_info", std::move(meta)}};
  if (with_index) result["index"] = sample;
  return result;
}

}  // namespace dpserve::engine
