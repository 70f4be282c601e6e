// Request bodies and response parsing for the three benchmark backends: SGLang /generate, OpenAI
// /v1/completions and /v1/chat/completions. Pure functions, no sockets.
#pragma once

#include "bench/bench_options.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace dpserve::bench {

struct Message {
  std::string role;  // system | user | assistant
  std::string content;
};

struct RequestSpec {
  std::vector<Message> messages;  // completion backends render them as one prompt
  int max_tokens = 0;
  bool ignore_eos = true;
  bool stream = true;
};

const char* request_path(Backend backend);
// JSON text with invalid UTF-8 replaced by U+FFFD (nlohmann's dump() throws on it instead).
std::string dump_lossy(const nlohmann::json& value);
std::string request_body(Backend backend, const std::string& model, const RequestSpec& spec);
// The prompt a completion backend sends: a lone user message as is, otherwise a plain transcript.
std::string render_prompt(const std::vector<Message>& messages);

// What one response (or one stream event) says. -1: not reported.
struct ChunkInfo {
  std::string text;  // new output text (a delta even where the server streams cumulative text)
  int prompt_tokens = -1;
  int completion_tokens = -1;
  int cached_tokens = -1;
  bool done = false;  // [DONE] or a finish reason
  std::string error;  // an error object inside a 200 stream
};

// Reads a stream event by event. SGLang streams the cumulative text in each event; OpenAI streams
// deltas; both are turned into deltas here.
class StreamParser {
 public:
  explicit StreamParser(Backend backend) : backend_(backend) {}
  // `data` is one event's data payload.
  ChunkInfo feed(std::string_view data);

 private:
  Backend backend_;
  std::string cumulative_;
};

// A complete non-streamed JSON response.
ChunkInfo parse_response(Backend backend, std::string_view body);

}  // namespace dpserve::bench
