// The engine's HTTP surface (engine-internals.md §7): routes every endpoint to its handler.
#pragma once

#include "common/http/server.h"
#include "engine/api/engine_context.h"

namespace dpserve::engine {

class ApiServer {
 public:
  explicit ApiServer(EngineContext& context) : context_(context) {}

  // The http::Server handler.
  http::net::awaitable<void> handle(http::Exchange& exchange);

 private:
  http::net::awaitable<void> generate(http::Exchange& exchange);
  http::net::awaitable<void> openai(http::Exchange& exchange, bool chat);
  http::net::awaitable<void> health_generate(http::Exchange& exchange);

  EngineContext& context_;
};

}  // namespace dpserve::engine
