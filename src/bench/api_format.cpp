#include "bench/api_format.h"

#include <nlohmann/json.hpp>

namespace dpserve::bench {

namespace {

using nlohmann::json;

int int_field(const json& object, const char* key) {
  if (!object.is_object()) return -1;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int>() : -1;
}

// usage (OpenAI) or meta_info (SGLang) token counts into `info`.
void read_counts(const json& event, ChunkInfo& info) {
  if (auto it = event.find("usage"); it != event.end() && it->is_object()) {
    info.prompt_tokens = int_field(*it, "prompt_tokens");
    info.completion_tokens = int_field(*it, "completion_tokens");
    if (auto details = it->find("prompt_tokens_details"); details != it->end()) {
      info.cached_tokens = int_field(*details, "cached_tokens");
    }
  }
  if (auto it = event.find("meta_info"); it != event.end() && it->is_object()) {
    info.prompt_tokens = int_field(*it, "prompt_tokens");
    info.completion_tokens = int_field(*it, "completion_tokens");
    info.cached_tokens = int_field(*it, "cached_tokens");
    if (auto reason = it->find("finish_reason"); reason != it->end() && !reason->is_null()) {
      info.done = true;
    }
  }
}

std::string error_text(const json& event) {
  auto it = event.find("error");
  if (it == event.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("message") && (*it)["message"].is_string()) {
    return (*it)["message"].get<std::string>();
  }
  return it->dump();
}

// The text an event or response carries, as sent (cumulative for SGLang).
std::string event_text(Backend backend, const json& event, bool stream, bool& finished) {
  if (backend == Backend::kSglang) {
    auto it = event.find("text");
    return it != event.end() && it->is_string() ? it->get<std::string>() : "";
  }
  auto choices = event.find("choices");
  if (choices == event.end() || !choices->is_array() || choices->empty()) return "";
  const auto& choice = (*choices)[0];
  if (auto reason = choice.find("finish_reason"); reason != choice.end() && !reason->is_null()) {
    finished = true;
  }
  if (backend == Backend::kOpenai) {
    auto it = choice.find("text");
    return it != choice.end() && it->is_string() ? it->get<std::string>() : "";
  }
  const char* holder = stream ? "delta" : "message";
  auto message = choice.find(holder);
  if (message == choice.end() || !message->is_object()) return "";
  auto content = message->find("content");
  return content != message->end() && content->is_string() ? content->get<std::string>() : "";
}

}  // namespace

std::string dump_lossy(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* request_path(Backend backend) {
  switch (backend) {
    case Backend::kSglang:
      return "/generate";
    case Backend::kOpenai:
      return "/v1/completions";
    case Backend::kOpenaiChat:
      return "/v1/chat/completions";
  }
  return "/generate";
}

std::string render_prompt(const std::vector<Message>& messages) {
  if (messages.size() == 1 && messages[0].role == "user") return messages[0].content;
  std::string out;
  for (const auto& message : messages) {
    out += message.role == "assistant" ? "Assistant: " : message.role == "system" ? "" : "User: ";
    out += message.content;
    out += "\n\n";
  }
  out += "Assistant:";
  return out;
}

std::string request_body(Backend backend, const std::string& model, const RequestSpec& spec) {
  json body;
  if (backend == Backend::kSglang) {
    body["text"] = render_prompt(spec.messages);
    body["sampling_params"] = {
        {"max_new_tokens", spec.max_tokens}, {"temperature", 0.0}, {"ignore_eos", spec.ignore_eos}};
    body["stream"] = spec.stream;
    return dump_lossy(body);
  }
  if (!model.empty()) body["model"] = model;
  if (backend == Backend::kOpenai) {
    body["prompt"] = render_prompt(spec.messages);
  } else {
    json messages = json::array();
    for (const auto& message : spec.messages) {
      messages.push_back({{"role", message.role}, {"content", message.content}});
    }
    body["messages"] = std::move(messages);
  }
  body["max_tokens"] = spec.max_tokens;
  body["temperature"] = 0.0;
  body["ignore_eos"] = spec.ignore_eos;
  body["stream"] = spec.stream;
  if (spec.stream) body["stream_options"] = {{"include_usage", true}};
  return dump_lossy(body);
}

ChunkInfo StreamParser::feed(std::string_view data) {
  ChunkInfo info;
  if (data == "[DONE]") {
    info.done = true;
    return info;
  }
  auto event = json::parse(data, nullptr, false);
  if (!event.is_object()) return info;
  info.error = error_text(event);
  read_counts(event, info);
  std::string text = event_text(backend_, event, true, info.done);
  if (backend_ == Backend::kSglang) {
    // Cumulative unless the server streams deltas: then the text is not an extension.
    if (text.size() >= cumulative_.size() &&
        text.compare(0, cumulative_.size(), cumulative_) == 0) {
      info.text = text.substr(cumulative_.size());
      cumulative_ = std::move(text);
    } else {
      info.text = text;
      cumulative_ += text;
    }
  } else {
    info.text = std::move(text);
  }
  return info;
}

ChunkInfo parse_response(Backend backend, std::string_view body) {
  ChunkInfo info;
  auto response = json::parse(body, nullptr, false);
  if (!response.is_object()) {
    info.error = "response is not a JSON object";
    return info;
  }
  info.error = error_text(response);
  read_counts(response, info);
  info.text = event_text(backend, response, false, info.done);
  info.done = true;
  return info;
}

}  // namespace dpserve::bench
