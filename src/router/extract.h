// Reads what routing needs from a raw request body with simdjson On-Demand, without copying or
// re-serialising the body: model, stream, and the routing text or token ids (router-spec.md 3.2).
#pragma once

#include "router/policy.h"

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::router {

enum class ApiKind { kGenerate, kCompletions, kChat, kEmbeddings };

struct Extracted {
  RouteRequest route;  // views into the extractor's buffers: valid until its next extract()
  bool stream = false;
};

// One per io thread (not thread-safe, buffers reused across requests).
class Extractor {
 public:
  static Extractor& local();

  // `body` gets SIMDJSON_PADDING spare capacity if it lacks it (its contents are unchanged).
  // Returns false with a user-facing `error` for malformed JSON or wrongly typed fields.
  bool extract(ApiKind kind, std::string& body, Extracted& out, std::string& error);

 private:
  bool read_text_or_ids(simdjson::ondemand::value value, std::string_view field, bool allow_ids,
                        std::string& error);
  bool read_messages(simdjson::ondemand::value value, std::string& error);
  void append_text(std::string_view piece);

  simdjson::ondemand::parser parser_;
  std::string text_;
  std::string_view single_;  // the only text piece, when there is just one (no copy)
  int pieces_ = 0;
  std::vector<int32_t> ids_;
};

}  // namespace dpserve::router
