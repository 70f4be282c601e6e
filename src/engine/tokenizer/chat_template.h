// Built-in chat templates for the supported model families. Each renders exactly the text the
// family's Hugging Face Jinja template produces (the Jinja source is kept alongside, and written
// into generated tokenizer_config.json files), without a Jinja interpreter.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {

struct ChatMessage {
  std::string role;
  std::string content;
};

// Reads an OpenAI-style message: {"role": ..., "content": string | null | [{"type": "text",
// "text": ...}, ...]}; text parts are concatenated, other part types are refused. Returns nullopt
// and sets *error on malformed input (never throws).
std::optional<ChatMessage> chat_message_from_json(const nlohmann::json& message,
                                                  std::string* error);

class ChatTemplate {
 public:
  enum class Kind { kLlama3, kQwen2, kChatml, kDeepseekV2, kDeepseekV3 };

  // "llama3", "qwen2", "chatml", "deepseek_v2", "deepseek_v3".
  static std::optional<ChatTemplate> by_name(std::string_view name);
  static std::vector<std::string_view> names();
  // Chooses from a tokenizer_config.json chat_template source, else from the HF architecture name
  // (e.g. "Qwen2ForCausalLM"); nullopt when neither identifies a supported family.
  static std::optional<ChatTemplate> detect(std::string_view jinja_source,
                                            std::string_view architecture);

  Kind kind() const { return kind_; }
  std::string_view name() const;
  // The Hugging Face Jinja template this one reproduces.
  std::string_view jinja() const;

  // Roles a family's template does not render (e.g. "tool" for DeepSeek) are skipped, as the Jinja
  // templates do.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                     std::string_view bos_token, std::string_view eos_token) const;

 private:
  explicit ChatTemplate(Kind kind) : kind_(kind) {}
  Kind kind_;
};

}  // namespace dpserve::engine
