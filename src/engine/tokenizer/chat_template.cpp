#include "engine/tokenizer/chat_template.h"

#include "engine/tokenizer/utf8.h"

#include <nlohmann/json.hpp>

namespace dpserve::engine {
namespace {

struct Entry {
  ChatTemplate::Kind kind;
  std::string_view name;
  std::string_view jinja;
};

// Meta-Llama-3-8B-Instruct.
constexpr std::string_view kLlama3Jinja =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% "
    "endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// Qwen2-*-Instruct.
constexpr std::string_view kQwen2Jinja =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif "
    "%}{{'<|im_start|>' "
    "+ message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

constexpr std::string_view kChatmlJinja =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' "
    "}}{% endif %}";

// DeepSeek-V2-Chat / DeepSeek-V2-Lite-Chat.
constexpr std::string_view kDeepseekV2Jinja =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif "
    "%}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + "
    "message['content'] + '\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + "
    "message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] "
    "+ "
    "'\\n\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

// DeepSeek-V3 without its tool-calling branches.
constexpr std::string_view kDeepseekV3Jinja =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif "
    "%}{% set ns = namespace(system_prompt='', is_first_sp=true) %}{%- for message in messages "
    "%}{%- "
    "if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = "
    "ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set "
    "ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}{%- endif "
    "%}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if "
    "message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if "
    "message['role'] == 'assistant' %}{{'<｜Assistant｜>' + message['content'] + "
    "'<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}{% if add_generation_prompt "
    "%}{{'<｜Assistant｜>'}}{% endif %}";

constexpr Entry kEntries[] = {
    {ChatTemplate::Kind::kLlama3, "llama3", kLlama3Jinja},
    {ChatTemplate::Kind::kQwen2, "qwen2", kQwen2Jinja},
    {ChatTemplate::Kind::kChatml, "chatml", kChatmlJinja},
    {ChatTemplate::Kind::kDeepseekV2, "deepseek_v2", kDeepseekV2Jinja},
    {ChatTemplate::Kind::kDeepseekV3, "deepseek_v3", kDeepseekV3Jinja},
};

const Entry& entry(ChatTemplate::Kind kind) {
  for (const Entry& e : kEntries) {
    if (e.kind == kind) return e;
  }
  return kEntries[0];
}

// Python's str.isspace(), which Jinja's trim filter uses.
bool is_python_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string_view python_strip(std::string_view s) {
  size_t begin = 0;
  uint32_t cp = 0;
  while (begin < s.size()) {
    const int len = utf8::decode(s, begin, &cp);
    if (len == 0 || !is_python_space(cp)) break;
    begin += len;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    const int len = utf8::decode(s, start, &cp);
    if (len == 0 || start + len != end || !is_python_space(cp)) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

}  // namespace

std::optional<ChatMessage> chat_message_from_json(const nlohmann::json& message,
                                                  std::string* error) {
  if (!message.is_object()) {
    *error = "message must be an object";
    return std::nullopt;
  }
  const auto role = message.find("role");
  if (role == message.end() || !role->is_string()) {
    *error = "message.role must be a string";
    return std::nullopt;
  }
  ChatMessage out{role->get<std::string>(), {}};
  const auto content = message.find("content");
  if (content == message.end() || content->is_null()) return out;
  if (content->is_string()) {
    out.content = content->get<std::string>();
    return out;
  }
  if (!content->is_array()) {
    *error = "message.content must be a string, null or an array of parts";
    return std::nullopt;
  }
  for (const auto& part : *content) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" ||
        !part.contains("text") || !part["text"].is_string()) {
      *error = "message.content parts must be {\"type\": \"text\", \"text\": string}";
      return std::nullopt;
    }
    out.content += part["text"].get<std::string>();
  }
  return out;
}

std::optional<ChatTemplate> ChatTemplate::by_name(std::string_view name) {
  for (const Entry& e : kEntries) {
    if (e.name == name) return ChatTemplate(e.kind);
  }
  return std::nullopt;
}

std::vector<std::string_view> ChatTemplate::names() {
  std::vector<std::string_view> out;
  for (const Entry& e : kEntries) out.push_back(e.name);
  return out;
}

std::optional<ChatTemplate> ChatTemplate::detect(std::string_view jinja_source,
                                                 std::string_view architecture) {
  const auto has = [&](std::string_view needle) {
    return jinja_source.find(needle) != std::string_view::npos;
  };
  if (has("<|start_header_id|>")) return ChatTemplate(Kind::kLlama3);
  if (has("<|im_start|>")) {
    return ChatTemplate(has("You are a helpful assistant") ? Kind::kQwen2 : Kind::kChatml);
  }
  if (has("<｜User｜>")) return ChatTemplate(Kind::kDeepseekV3);
  if (has("'User: '") && has("Assistant:")) return ChatTemplate(Kind::kDeepseekV2);
  if (architecture == "LlamaForCausalLM") return ChatTemplate(Kind::kLlama3);
  if (architecture == "Qwen2ForCausalLM") return ChatTemplate(Kind::kQwen2);
  if (architecture == "DeepseekV2ForCausalLM") return ChatTemplate(Kind::kDeepseekV2);
  if (architecture == "DeepseekV3ForCausalLM") return ChatTemplate(Kind::kDeepseekV3);
  return std::nullopt;
}

std::string_view ChatTemplate::name() const { return entry(kind_).name; }

std::string_view ChatTemplate::jinja() const { return entry(kind_).jinja; }

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 std::string_view bos_token, std::string_view eos_token) const {
  std::string out;
  switch (kind_) {
    case Kind::kLlama3:
      for (size_t i = 0; i < messages.size(); ++i) {
        if (i == 0) out += bos_token;
        out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
        out += python_strip(messages[i].content);
        out += "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case Kind::kQwen2:
    case Kind::kChatml:
      for (size_t i = 0; i < messages.size(); ++i) {
        if (kind_ == Kind::kQwen2 && i == 0 && messages[0].role != "system") {
          out += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n";
        }
        out += "<|im_start|>" + messages[i].role + "\n" + messages[i].content + "<|im_end|>\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case Kind::kDeepseekV2:
      out += bos_token;
      for (const ChatMessage& m : messages) {
        if (m.role == "user") {
          out += "User: " + m.content + "\n\n";
        } else if (m.role == "assistant") {
          out += "Assistant: " + m.content;
          out += eos_token;
        } else if (m.role == "system") {
          out += m.content + "\n\n";
        }
      }
      if (add_generation_prompt) out += "Assistant:";
      break;
    case Kind::kDeepseekV3: {
      std::string system;
      bool first_system = true;
      for (const ChatMessage& m : messages) {
        if (m.role != "system") continue;
        if (!first_system) system += "\n\n";
        system += m.content;
        first_system = false;
      }
      out += bos_token;
      out += system;
      for (const ChatMessage& m : messages) {
        if (m.role == "user") {
          out += "<｜User｜>" + m.content;
        } else if (m.role == "assistant") {
          out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
        }
      }
      if (add_generation_prompt) out += "<｜Assistant｜>";
      break;
    }
  }
  return out;
}

}  // namespace dpserve::engine
