#include "engine/api/openai_api.h"

#include "common/random_id.h"
#include "engine/api/field_reader.h"
#include "engine/api/generate_api.h"

#include <algorithm>
#include <chrono>

namespace dpserve::engine {

using nlohmann::json;

namespace {

// Fields of OpenAI's API this engine cannot honour: refused rather than silently ignored.
std::string unsupported(const json& body, bool chat) {
  auto set = [&](const char* key) { return body.contains(key) && !body[key].is_null(); };
  if (set("logit_bias") && !body["logit_bias"].empty()) return "logit_bias is not supported";
  if (set("suffix")) return "suffix is not supported";
  if (set("best_of") && body["best_of"] != 1) return "best_of is not supported";
  if (set("echo") && body["echo"] != false) return "echo is not supported";
  if (chat && set("tools") && !body["tools"].empty()) return "tools are not supported";
  if (chat && set("response_format")) {
    const json& f = body["response_format"];
    if (!f.is_object() || f.value("type", "") != "text") {
      return "response_format other than {\"type\": \"text\"} is not supported";
    }
  }
  return {};
}

std::string check_model(const json& body, const EngineContext& context) {
  if (!body.contains("model") || body["model"].is_null()) return {};
  if (!body["model"].is_string()) return "model must be a string";
  const std::string model = body["model"].get<std::string>();
  if (model == context.served_model_name || model == context.model_path) return {};
  return "The model '" + model + "' does not exist; this server serves '" +
         context.served_model_name + "'.";
}

// Shared by both endpoints: stream options, logprobs, DP rank, sampling; then one job per prompt.
std::string read_common(const json& body, const EngineContext& context, OpenAiInput& out,
                        std::vector<std::vector<int32_t>> prompts, int default_max_tokens) {
  if (std::string e = check_model(body, context); !e.empty()) return e;
  if (std::string e = unsupported(body, out.chat); !e.empty()) return e;
  FieldReader r(body, "");
  r.get("stream", out.stream);
  if (const json* options = r.find("stream_options")) {
    FieldReader o(*options, "stream_options.");
    o.get("include_usage", out.include_usage);
    if (!o.ok()) return o.error();
  }
  if (out.chat) {
    r.get("logprobs", out.logprobs);
    r.get("top_logprobs", out.top_logprobs);
    if (out.top_logprobs != 0 && !out.logprobs) return "top_logprobs requires logprobs: true";
  } else if (r.has("logprobs")) {
    r.get("logprobs", out.top_logprobs);
    out.logprobs = true;
  }
  if (!r.ok()) return r.error();
  if (out.top_logprobs < 0 || out.top_logprobs > 20) return "top_logprobs must be in [0, 20]";
  std::string error;
  out.routed_dp_rank = read_routed_dp_rank(body, &error);
  if (!error.empty()) return error;
  std::string rid;
  r.get("rid", rid);
  const bool has_max = r.has("max_tokens") || r.has("max_completion_tokens");
  out.model = context.served_model_name;
  out.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (size_t i = 0; i < prompts.size(); ++i) {
    PromptJob job;
    job.request.id = rid.empty() ? common::random_alnum("", 32)
                                 : (prompts.size() > 1 ? rid + "-" + std::to_string(i) : rid);
    job.request.input_ids = std::move(prompts[i]);
    job.request.sampling.return_logprob = out.logprobs;
    job.request.sampling.top_logprobs_num = out.top_logprobs;
    const int room = context.context_length - static_cast<int>(job.request.input_ids.size());
    job.request.max_new_tokens =
        default_max_tokens > 0
            ? default_max_tokens
            : std::max(1, static_cast<int>(std::min<int64_t>(
                              room, context.max_total_tokens -
                                        static_cast<int64_t>(job.request.input_ids.size()))));
    FieldReader sampling(body, "");
    read_sampling_params(sampling, true, job);
    if (!sampling.ok()) return sampling.error();
    if (has_max && job.request.max_new_tokens < 0) return "max_tokens must be >= 0";
    if (std::string e = finalize_prompt_job(job, *context.tokenizer); !e.empty()) return e;
    out.prompts.push_back(std::move(job));
  }
  return {};
}

// {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"}: prompt and
// cached tokens count once per prompt, completions over every sample.
json usage(Generation& generation) {
  int64_t prompt = 0, completion = 0, cached = 0;
  size_t last_prompt = SIZE_MAX;
  for (const SampleState& s : generation.samples()) {
    if (s.prompt != last_prompt) {
      prompt += s.prompt_tokens;
      cached += s.cached_tokens;
      last_prompt = s.prompt;
    }
    completion += s.completion_tokens;
  }
  return json{{"prompt_tokens", prompt},
              {"completion_tokens", completion},
              {"total_tokens", prompt + completion},
              {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

json finish_reason(const SampleState& s) {
  if (!s.finish) return nullptr;
  return s.finish->type();
}

// Logprobs of output tokens [from, to) in the endpoint's shape.
json logprobs_json(const SampleState& s, size_t from, size_t to, bool chat,
                   const Tokenizer& tokenizer) {
  to = std::min({to, s.logprobs.size(), s.output_ids.size()});
  if (chat) {
    json content = json::array();
    for (size_t i = from; i < to; ++i) {
      const std::string piece = tokenizer.token_to_piece(s.output_ids[i]);
      json top = json::array();
      if (i < s.top_logprobs.size()) {
        for (const auto& t : s.top_logprobs[i]) {
          const std::string p = tokenizer.token_to_piece(t.token);
          top.push_back({{"token", p},
                         {"logprob", t.logprob},
                         {"bytes", std::vector<uint8_t>(p.begin(), p.end())}});
        }
      }
      content.push_back({{"token", piece},
                         {"logprob", s.logprobs[i]},
                         {"bytes", std::vector<uint8_t>(piece.begin(), piece.end())},
                         {"top_logprobs", std::move(top)}});
    }
    return json{{"content", std::move(content)}};
  }
  json tokens = json::array(), token_logprobs = json::array(), tops = json::array();
  for (size_t i = from; i < to; ++i) {
    tokens.push_back(tokenizer.token_to_piece(s.output_ids[i]));
    token_logprobs.push_back(s.logprobs[i]);
    json top = json::object();
    if (i < s.top_logprobs.size()) {
      for (const auto& t : s.top_logprobs[i]) top[tokenizer.token_to_piece(t.token)] = t.logprob;
    }
    tops.push_back(std::move(top));
  }
  return json{{"tokens", std::move(tokens)},
              {"token_logprobs", std::move(token_logprobs)},
              {"top_logprobs", std::move(tops)}};
}

}  // namespace

std::string parse_completions(const json& body, const EngineContext& context, OpenAiInput& out) {
  if (!body.is_object()) return "the body must be a JSON object";
  out.chat = false;
  out.id = common::random_alnum("cmpl-", 24);
  if (!body.contains("prompt") || body["prompt"].is_null()) return "prompt is required";
  const json& prompt = body["prompt"];
  std::vector<std::vector<int32_t>> prompts;
  const Tokenizer& tokenizer = *context.tokenizer;
  std::string error;
  if (prompt.is_string()) {
    prompts.push_back(tokenizer.encode(prompt.get<std::string>(), true));
  } else if (prompt.is_array() && !prompt.empty() && prompt[0].is_string()) {
    for (const auto& item : prompt) {
      if (!item.is_string()) return "prompt must not mix strings and token ids";
      prompts.push_back(tokenizer.encode(item.get<std::string>(), true));
    }
  } else if (prompt.is_array() && !prompt.empty() && prompt[0].is_array()) {
    for (size_t i = 0; i < prompt.size(); ++i) {
      auto ids = read_ids(prompt[i], "prompt[" + std::to_string(i) + "]", &error);
      if (!ids) return error;
      prompts.push_back(std::move(*ids));
    }
  } else if (prompt.is_array() && !prompt.empty()) {
    auto ids = read_ids(prompt, "prompt", &error);
    if (!ids) return error;
    prompts.push_back(std::move(*ids));
  } else {
    return "prompt must be a string, a list of strings or a list of token ids";
  }
  return read_common(body, context, out, std::move(prompts), 16);
}

std::string parse_chat(const json& body, const EngineContext& context, OpenAiInput& out) {
  if (!body.is_object()) return "the body must be a JSON object";
  out.chat = true;
  out.id = common::random_alnum("chatcmpl-", 24);
  if (!context.chat_template) {
    return "this model has no chat template; start the engine with --chat-template";
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return "messages must be a non-empty list";
  }
  std::vector<ChatMessage> messages;
  for (const auto& m : body["messages"]) {
    std::string error;
    auto message = chat_message_from_json(m, &error);
    if (!message) return "messages: " + error;
    messages.push_back(std::move(*message));
  }
  const Tokenizer& tokenizer = *context.tokenizer;
  const std::string text =
      context.chat_template->render(messages, true, tokenizer.bos_token(), tokenizer.eos_token());
  std::vector<std::vector<int32_t>> prompts;
  prompts.push_back(tokenizer.encode(text, false));
  return read_common(body, context, out, std::move(prompts), 0);
}

json openai_response(Generation& generation, const OpenAiInput& input, const Tokenizer& tokenizer) {
  json choices = json::array();
  auto& samples = generation.samples();
  for (size_t i = 0; i < samples.size(); ++i) {
    const SampleState& s = samples[i];
    json choice = {{"index", i}, {"finish_reason", finish_reason(s)}};
    choice["logprobs"] = input.logprobs
                             ? logprobs_json(s, 0, s.output_ids.size(), input.chat, tokenizer)
                             : json(nullptr);
    if (input.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", std::string(s.text.visible())}};
    } else {
      choice["text"] = std::string(s.text.visible());
    }
    choices.push_back(std::move(choice));
  }
  return json{{"id", input.id},
              {"object", input.chat ? "chat.completion" : "text_completion"},
              {"created", input.created},
              {"model", input.model},
              {"choices", std::move(choices)},
              {"usage", usage(generation)}};
}

OpenAiStream::OpenAiStream(const OpenAiInput& input, size_t samples)
    : input_(input),
      role_sent_(samples, false),
      logprobs_sent_(samples, 0),
      finish_sent_(samples, false) {}

std::vector<json> OpenAiStream::chunks(Generation& generation, const std::vector<size_t>& changed,
                                       const Tokenizer& tokenizer) {
  std::vector<json> out;
  auto chunk = [&](size_t index, json delta_or_text, json finish, json logprobs) {
    json choice = {{"index", index}, {"logprobs", std::move(logprobs)}};
    choice[input_.chat ? "delta" : "text"] = std::move(delta_or_text);
    choice["finish_reason"] = std::move(finish);
    out.push_back({{"id", input_.id},
                   {"object", input_.chat ? "chat.completion.chunk" : "text_completion"},
                   {"created", input_.created},
                   {"model", input_.model},
                   {"choices", json::array({std::move(choice)})}});
  };
  for (size_t i : changed) {
    SampleState& s = generation.samples()[i];
    if (finish_sent_[i]) continue;
    if (input_.chat && !role_sent_[i]) {
      chunk(i, json{{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
      role_sent_[i] = true;
    }
    std::string delta = s.text.take_delta();
    json logprobs = nullptr;
    if (input_.logprobs && logprobs_sent_[i] < s.output_ids.size()) {
      logprobs = logprobs_json(s, logprobs_sent_[i], s.output_ids.size(), input_.chat, tokenizer);
      logprobs_sent_[i] = s.output_ids.size();
    }
    if (!delta.empty() || !logprobs.is_null()) {
      if (input_.chat) {
        chunk(i, json{{"content", std::move(delta)}}, nullptr, std::move(logprobs));
      } else {
        chunk(i, std::move(delta), nullptr, std::move(logprobs));
      }
    }
    if (s.finish) {
      chunk(i, input_.chat ? json::object() : json(""), finish_reason(s), nullptr);
      finish_sent_[i] = true;
    }
  }
  return out;
}

json OpenAiStream::usage_chunk(Generation& generation) const {
  return json{{"id", input_.id},
              {"object", input_.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", input_.created},
              {"model", input_.model},
              {"choices", json::array()},
              {"usage", usage(generation)}};
}

}  // namespace dpserve::engine
