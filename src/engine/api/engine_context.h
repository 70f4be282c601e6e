// Everything the HTTP handlers share: options, tokenizer, chat template, DP controller, metrics.
// Built once at start-up; the handlers only read it (the controller and metrics lock inside).
#pragma once

#include "engine/api/engine_options.h"
#include "engine/api/metrics.h"
#include "engine/dp/dp_controller.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

#include <memory>
#include <optional>
#include <string>

namespace dpserve::engine {

struct EngineContext {
  EngineOptions options;
  std::string model_path;
  std::string served_model_name;
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::unique_ptr<DpController> dp;  // reset before the HTTP server goes away
  Metrics metrics;
  int64_t max_total_tokens = 0;  // per DP rank
  int context_length = 0;
};

}  // namespace dpserve::engine
