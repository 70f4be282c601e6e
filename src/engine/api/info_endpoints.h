// Bodies of the read-only and control endpoints: /get_server_info, /get_model_info, /get_load,
// /v1/models, /tokenize, /detokenize. Plain functions of the context (no I/O), so each is a
// one-liner in the router and easy to test through the server.
#pragma once

#include "engine/api/engine_context.h"

#include <nlohmann/json.hpp>

#include <string>

namespace dpserve::engine {

nlohmann::json server_info(const EngineContext& context);
nlohmann::json model_info(const EngineContext& context);
nlohmann::json load_info(const EngineContext& context);
nlohmann::json models_list(const EngineContext& context);

// Each returns the answer, or sets *error (a 400 message).
nlohmann::json tokenize(const EngineContext& context, const nlohmann::json& body,
                        std::string* error);
nlohmann::json detokenize(const EngineContext& context, const nlohmann::json& body,
                          std::string* error);

}  // namespace dpserve::engine
