#include "engine/api/engine_main.h"

#include "common/http/server.h"
#include "common/logging.h"
#include "engine/api/api_server.h"
#include "engine/api/default_model.h"
#include "engine/api/engine_context.h"
#include "engine/api/engine_options.h"
#include "engine/kv/page_pool.h"
#include "engine/model/load_model.h"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <memory>

namespace dpserve::engine {

namespace {

// Picks the chat template: the flag's name, else the checkpoint's own, else none (the chat
// endpoint then answers 400). Throws on an unknown name.
std::optional<ChatTemplate> choose_chat_template(const EngineOptions& options,
                                                 const Tokenizer& tokenizer,
                                                 const std::string& architecture) {
  if (!options.chat_template.empty()) {
    auto chosen = ChatTemplate::by_name(options.chat_template);
    if (!chosen) {
      std::string names;
      for (auto name : ChatTemplate::names())
        names += (names.empty() ? "" : ", ") + std::string(name);
      throw std::invalid_argument("--chat-template: unknown template '" + options.chat_template +
                                  "' (built-in: " + names + ")");
    }
    return chosen;
  }
  return ChatTemplate::detect(tokenizer.chat_template_source(), architecture);
}

// Loads the model, tokenizer and one scheduler per DP rank. Throws on any start-up problem.
void build_context(EngineContext& c) {
  EngineOptions& o = c.options;
  if (o.model_path.empty()) {
    c.model_path = default_model_dir();
    spdlog::info("no --model-path: using the default tiny model in {}", c.model_path);
    ensure_default_model(c.model_path);
  } else {
    c.model_path = o.model_path;
  }
  c.served_model_name = o.served_model_name.empty() ? c.model_path : o.served_model_name;
  const ModelInfo info = describe_model(c.model_path);
  KvCapacityOptions capacity;
  capacity.max_total_tokens = o.max_total_tokens;
  capacity.kv_cache_memory = o.kv_cache_memory;
  if (o.max_total_tokens == 0 && o.kv_cache_memory == 0) {
    capacity.kv_cache_memory = EngineOptions::kDefaultKvCacheMemory;
    capacity.max_total_tokens = EngineOptions::kDefaultMaxKvTokens;
  }
  capacity.page_size = o.page_size;
  c.max_total_tokens = kv_capacity_tokens(capacity, info.kv_bytes_per_token());
  c.tokenizer = Tokenizer::load(c.model_path);
  c.chat_template = choose_chat_template(o, *c.tokenizer, info.architecture);
  if (o.context_length > info.max_position_embeddings) {
    spdlog::warn("--context-length {} exceeds the model's max_position_embeddings {}",
                 o.context_length, info.max_position_embeddings);
  }

  LoadOptions load;
  load.threads = o.threads;
  const SchedulerConfig config = scheduler_config(o, c.max_total_tokens);
  if (std::string error = config.validate(); !error.empty()) throw std::invalid_argument(error);
  std::vector<DpController::Replica> replicas;
  for (int rank = 0; rank < o.dp_size; ++rank) {
    DpController::Replica replica;
    replica.model = load_model(c.model_path, load);
    replica.scheduler = std::make_unique<SchedulerThread>(config, *replica.model);
    replicas.push_back(std::move(replica));
  }
  c.context_length = replicas[0].scheduler->context_length();
  c.dp = std::make_unique<DpController>(
      std::move(replicas),
      parse_load_balance_method(o.load_balance_method).value_or(LoadBalanceMethod::kRoundRobin));
  spdlog::info("model {} ({}), dp_size {}, {} KV tokens per rank ({} bytes per token), context {}",
               c.model_path, info.architecture, o.dp_size, c.max_total_tokens,
               info.kv_bytes_per_token(), c.context_length);
}

}  // namespace

int engine_main(int argc, char** argv) {
  EngineContext context;
  CLI::App app{"Inference server: paged KV, radix cache, continuous batching, native DP",
               "dpserve engine"};
  add_engine_flags(app, context.options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (std::string error = validate_engine_options(context.options); !error.empty()) {
    std::fprintf(stderr, "dpserve engine: %s\n", error.c_str());
    return 2;
  }
  common::init_logging(*common::parse_log_level(context.options.log_level));
  std::unique_ptr<http::Server> server;
  ApiServer api(context);
  try {
    build_context(context);
    http::ServerOptions options;
    options.host = context.options.host;
    options.port = static_cast<uint16_t>(context.options.port);
    options.threads = 1;
    server = std::make_unique<http::Server>(
        options, [&api](http::Exchange& exchange) { return api.handle(exchange); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpserve engine: %s\n", e.what());
    return 1;
  }
  auto signals = std::make_unique<http::net::signal_set>(server->context(0), SIGINT, SIGTERM);
  signals->async_wait([&server](http::error_code ec, int) {
    if (!ec) server->stop();
  });
  std::printf("dpserve engine listening on http://%s:%u\n", context.options.host.c_str(),
              server->port());
  std::fflush(stdout);
  server->run();
  spdlog::info("shutting down");
  // Schedulers end first: their final aborts post to io contexts that must still exist.
  context.dp.reset();
  signals.reset();
  server.reset();
  return 0;
}

}  // namespace dpserve::engine
