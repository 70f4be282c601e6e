#include "router/extract.h"

#include "common/strings.h"

namespace dpserve::router {

namespace od = simdjson::ondemand;

namespace {

const char* type_name(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

bool type_of(od::value& value, od::json_type& type, std::string& error) {
  if (value.type().get(type) != simdjson::SUCCESS) {
    error = "request body is not valid JSON";
    return false;
  }
  return true;
}

std::string wrong_type(std::string_view field, std::string_view expected, od::json_type got) {
  std::string out = "'";
  out.append(field).append("' must be ").append(expected).append(", got ").append(type_name(got));
  return out;
}

}  // namespace

Extractor& Extractor::local() {
  thread_local Extractor extractor;
  return extractor;
}

void Extractor::append_text(std::string_view piece) {
  if (pieces_ == 0) {
    single_ = piece;
  } else {
    if (pieces_ == 1) text_.assign(single_);
    text_ += ' ';
    text_.append(piece);
  }
  ++pieces_;
}

// A string, an array of strings, or (when allowed) token ids: an array of integers or an array of
// arrays of integers. Batches route on everything they carry, joined by spaces.
bool Extractor::read_text_or_ids(od::value value, std::string_view field, bool allow_ids,
                                 std::string& error) {
  od::json_type type;
  if (!type_of(value, type, error)) return false;
  if (type == od::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      error = "request body is not valid JSON";
      return false;
    }
    append_text(text);
    return true;
  }
  if (type == od::json_type::null) return true;
  const char* expected =
      allow_ids ? "a string, an array of strings or token ids" : "a string or an array of strings";
  if (type != od::json_type::array) {
    error = wrong_type(field, expected, type);
    return false;
  }
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    error = "request body is not valid JSON";
    return false;
  }
  for (auto element_result : array) {
    od::value element;
    od::json_type element_type;
    if (element_result.get(element) != simdjson::SUCCESS ||
        !type_of(element, element_type, error)) {
      error = "request body is not valid JSON";
      return false;
    }
    if (element_type == od::json_type::string) {
      std::string_view text;
      if (element.get_string().get(text) != simdjson::SUCCESS) {
        error = "request body is not valid JSON";
        return false;
      }
      append_text(text);
    } else if (allow_ids && element_type == od::json_type::number) {
      int64_t id;
      if (element.get_int64().get(id) != simdjson::SUCCESS) {
        error = wrong_type(field, "token ids (integers)", element_type);
        return false;
      }
      ids_.push_back(static_cast<int32_t>(id));
    } else if (allow_ids && element_type == od::json_type::array) {
      od::array inner;
      if (element.get_array().get(inner) != simdjson::SUCCESS) {
        error = "request body is not valid JSON";
        return false;
      }
      for (auto id_result : inner) {
        int64_t id;
        if (id_result.get_int64().get(id) != simdjson::SUCCESS) {
          error = common::cat({"'", field, "' batches must hold integer token ids"});
          return false;
        }
        ids_.push_back(static_cast<int32_t>(id));
      }
    } else {
      error = wrong_type(field, expected, element_type);
      return false;
    }
  }
  return true;
}

// Chat: the text content of every message (string content, or the "text" of text parts), plus
// assistant reasoning_content, joined by spaces. Roles, images and tools are not routing text.
bool Extractor::read_messages(od::value value, std::string& error) {
  od::json_type type;
  if (!type_of(value, type, error)) return false;
  if (type != od::json_type::array) {
    error = wrong_type("messages", "an array", type);
    return false;
  }
  od::array messages;
  if (value.get_array().get(messages) != simdjson::SUCCESS) {
    error = "request body is not valid JSON";
    return false;
  }
  for (auto message_result : messages) {
    od::object message;
    if (message_result.get_object().get(message) != simdjson::SUCCESS) {
      error = "each of 'messages' must be an object";
      return false;
    }
    for (auto field : message) {
      std::string_view key;
      od::value content;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
          field.value().get(content) != simdjson::SUCCESS) {
        error = "request body is not valid JSON";
        return false;
      }
      if (key != "content" && key != "reasoning_content") continue;
      od::json_type content_type;
      if (!type_of(content, content_type, error)) return false;
      if (content_type == od::json_type::string) {
        std::string_view text;
        if (content.get_string().get(text) != simdjson::SUCCESS) {
          error = "request body is not valid JSON";
          return false;
        }
        append_text(text);
      } else if (content_type == od::json_type::array && key == "content") {
        od::array parts;
        if (content.get_array().get(parts) != simdjson::SUCCESS) {
          error = "request body is not valid JSON";
          return false;
        }
        for (auto part_result : parts) {
          od::object part;
          if (part_result.get_object().get(part) != simdjson::SUCCESS) {
            error = "each part of a message's 'content' must be an object";
            return false;
          }
          for (auto part_field : part) {
            std::string_view part_key;
            if (part_field.unescaped_key().get(part_key) != simdjson::SUCCESS) {
              error = "request body is not valid JSON";
              return false;
            }
            if (part_key != "text") continue;
            std::string_view text;
            if (part_field.value().get_string().get(text) != simdjson::SUCCESS) {
              error = "a content part's 'text' must be a string";
              return false;
            }
            append_text(text);
          }
        }
      } else if (content_type != od::json_type::null) {
        error = wrong_type("content", "a string, an array of parts or null", content_type);
        return false;
      }
    }
  }
  return true;
}

bool Extractor::extract(ApiKind kind, std::string& body, Extracted& out, std::string& error) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  out = Extracted{};
  text_.clear();
  single_ = {};
  pieces_ = 0;
  ids_.clear();
  od::document doc;
  if (parser_.iterate(body.data(), body.size(), body.capacity()).get(doc) != simdjson::SUCCESS) {
    error = "request body is not valid JSON";
    return false;
  }
  od::object object;
  if (auto code = doc.get_object().get(object); code != simdjson::SUCCESS) {
    error = code == simdjson::INCORRECT_TYPE ? "request body must be a JSON object"
                                             : "request body is not valid JSON";
    return false;
  }
  bool have_text = false;
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      error = "request body is not valid JSON";
      return false;
    }
    if (key == "model") {
      od::json_type type;
      if (!type_of(value, type, error)) return false;
      if (type == od::json_type::null) continue;
      if (type != od::json_type::string) {
        error = wrong_type("model", "a string", type);
        return false;
      }
      if (value.get_string().get(out.route.model) != simdjson::SUCCESS) {
        error = "request body is not valid JSON";
        return false;
      }
    } else if (key == "stream") {
      od::json_type type;
      if (!type_of(value, type, error)) return false;
      if (type == od::json_type::null) continue;
      if (type != od::json_type::boolean) {
        error = wrong_type("stream", "a boolean", type);
        return false;
      }
      if (value.get_bool().get(out.stream) != simdjson::SUCCESS) {
        error = "request body is not valid JSON";
        return false;
      }
    } else if (kind == ApiKind::kGenerate && key == "text") {
      have_text = true;
      if (!ids_.empty()) ids_.clear();  // text wins over input_ids
      if (!read_text_or_ids(value, "text", false, error)) return false;
    } else if (kind == ApiKind::kGenerate && key == "input_ids") {
      if (have_text) continue;
      if (!read_text_or_ids(value, "input_ids", true, error)) return false;
      if (pieces_ > 0) {
        error = "'input_ids' must hold integer token ids";
        return false;
      }
    } else if (kind == ApiKind::kCompletions && key == "prompt") {
      if (!read_text_or_ids(value, "prompt", true, error)) return false;
    } else if (kind == ApiKind::kEmbeddings && key == "input") {
      if (!read_text_or_ids(value, "input", true, error)) return false;
    } else if (kind == ApiKind::kChat && key == "messages") {
      if (!read_messages(value, error)) return false;
    }
  }
  // After the root object only whitespace may follow; any other token has a location.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    error = "request body is not valid JSON (trailing content)";
    return false;
  }
  std::string_view text = pieces_ == 1 ? single_ : std::string_view(text_);
  if (pieces_ > 0) {
    out.route.text = text;
    out.route.prompt_size = static_cast<int64_t>(text.size());
  } else {
    out.route.token_ids = ids_;
    out.route.prompt_size = static_cast<int64_t>(ids_.size());
  }
  return true;
}

}  // namespace dpserve::router
