#include "engine/api/api_server.h"

#include "common/http/sse.h"
#include "common/random_id.h"
#include "engine/api/generate_api.h"
#include "engine/api/generation.h"
#include "engine/api/info_endpoints.h"
#include "engine/api/openai_api.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace dpserve::engine {

namespace net = http::net;
namespace bhttp = http::bhttp;
using nlohmann::json;

namespace {

// Token pieces and stop-trimmed text can hold invalid UTF-8; replace it rather than fail.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_body(const std::string& body) { return json::parse(body, nullptr, false); }

std::string path_of(const http::Request& request) {
  std::string_view target = request.target();
  return std::string(target.substr(0, target.find('?')));
}

// The X-Data-Parallel-Rank header overrides the body's routed_dp_rank.
std::optional<int> header_rank(const http::Request& request, std::string* error) {
  const http::Header* header = request.find("x-data-parallel-rank");
  if (!header) return std::nullopt;
  std::string_view value = header->value;
  int rank = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), rank);
  if (ec != std::errc() || end != value.data() + value.size()) {
    *error = "X-Data-Parallel-Rank must be an integer";
    return std::nullopt;
  }
  return rank;
}

// Ends the client-disconnect watch before the generation its callback refers to goes away.
struct WatchGuard {
  http::Exchange& exchange;
  ~WatchGuard() { exchange.stop_watching(); }
};

bool authorized(const EngineContext& context, const http::Request& request) {
  if (context.options.api_key.empty()) return true;
  return request.header(http::HeaderKind::kAuthorization) == "Bearer " + context.options.api_key;
}

void stream_head(bhttp::response_header<>& head) {
  head.result(bhttp::status::ok);
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
}

std::string generate_body(Generation& generation, const GenerateInput& input,
                          const Tokenizer& tokenizer) {
  const bool list = input.batch || generation.samples().size() > 1;
  if (!list) return dump(generate_result(generation, 0, input, tokenizer, false));
  json out = json::array();
  for (size_t i = 0; i < generation.samples().size(); ++i) {
    out.push_back(generate_result(generation, i, input, tokenizer, false));
  }
  return dump(out);
}

std::string generate_event(Generation& generation, size_t sample, const GenerateInput& input,
                           const Tokenizer& tokenizer) {
  const bool list = input.batch || generation.samples().size() > 1;
  return http::format_sse_data(dump(generate_result(generation, sample, input, tokenizer, list)));
}

// A rank pinned by header or body, checked against dp_size; *error set when out of range.
std::optional<int> pinned_rank(const EngineContext& context, const http::Request& request,
                               std::optional<int> body_rank, std::string* error) {
  std::optional<int> rank = header_rank(request, error);
  if (!error->empty()) return std::nullopt;
  if (!rank) rank = body_rank;
  if (rank && (*rank < 0 || *rank >= context.dp->dp_size())) {
    *error = "DP rank " + std::to_string(*rank) + " is out of range (dp_size " +
             std::to_string(context.dp->dp_size()) + ")";
    return std::nullopt;
  }
  return rank;
}

PromptJob health_job(int rank) {
  PromptJob job;
  job.request.id = common::random_alnum("HEALTH_CHECK_" + std::to_string(rank) + "_", 16);
  job.request.input_ids = {0};
  job.request.max_new_tokens = 1;
  job.request.sampling.temperature = 0;
  return job;
}

}  // namespace

net::awaitable<void> ApiServer::handle(http::Exchange& exchange) {
  auto& request = exchange.request();
  const std::string path = path_of(request);
  const bool get = request.method() == bhttp::verb::get;
  const bool post = request.method() == bhttp::verb::post;
  if (path == "/health") {
    co_await exchange.respond(200, "", "text/plain");
    co_return;
  }
  if (path == "/health_generate") {
    co_await health_generate(exchange);
    co_return;
  }
  if (path != "/metrics" && !authorized(context_, request)) {
    co_await exchange.respond_error(401, "unauthorized", "missing or wrong API key");
    co_return;
  }
  if (get && (path == "/get_server_info" || path == "/server_info")) {
    co_await exchange.respond(200, dump(server_info(context_)));
  } else if (get && path == "/get_model_info") {
    co_await exchange.respond(200, dump(model_info(context_)));
  } else if (get && (path == "/get_load" || path == "/v1/loads")) {
    co_await exchange.respond(200, dump(load_info(context_)));
  } else if (get && path == "/v1/models") {
    co_await exchange.respond(200, dump(models_list(context_)));
  } else if (get && path == "/metrics") {
    co_await exchange.respond(
        200, context_.metrics.render(context_.served_model_name, context_.dp->scheduler_loads()),
        "text/plain; version=0.0.4");
  } else if ((get || post) && path == "/flush_cache") {
    if (context_.dp->flush_cache()) {
      co_await exchange.respond(200, "Cache flushed.\n", "text/plain");
    } else {
      co_await exchange.respond_error(400, "requests_in_flight",
                                      "Cache not flushed: requests are running or waiting.");
    }
  } else if (post && path == "/generate") {
    co_await generate(exchange);
  } else if (post && path == "/v1/completions") {
    co_await openai(exchange, false);
  } else if (post && path == "/v1/chat/completions") {
    co_await openai(exchange, true);
  } else if (post && (path == "/tokenize" || path == "/detokenize" || path == "/abort_request")) {
    json body = parse_body(request.body());
    std::string error;
    json answer;
    if (body.is_discarded()) {
      error = "malformed JSON body";
    } else if (path == "/tokenize") {
      answer = tokenize(context_, body, &error);
    } else if (path == "/detokenize") {
      answer = detokenize(context_, body, &error);
    } else if (!body.is_object() || !body.contains("rid") || !body["rid"].is_string()) {
      error = "rid (a string) is required";
    } else {
      context_.dp->abort(body["rid"].get<std::string>());
      answer = json::object();
    }
    if (!error.empty()) {
      co_await exchange.respond_error(400, "invalid_request", error);
    } else {
      co_await exchange.respond(200, dump(answer));
    }
  } else if (path == "/generate" || path == "/v1/completions" || path == "/v1/chat/completions" ||
             path == "/tokenize" || path == "/detokenize" || path == "/abort_request" ||
             path == "/get_server_info" || path == "/server_info" || path == "/get_model_info" ||
             path == "/get_load" || path == "/v1/loads" || path == "/v1/models" ||
             path == "/metrics" || path == "/flush_cache") {
    co_await exchange.respond_error(405, "method_not_allowed", "method not allowed on " + path);
  } else {
    co_await exchange.respond_error(404, "not_found", "no such endpoint: " + path);
  }
}

net::awaitable<void> ApiServer::generate(http::Exchange& exchange) {
  json body = parse_body(exchange.request().body());
  if (body.is_discarded()) {
    co_await exchange.respond_error(400, "invalid_request", "malformed JSON body");
    co_return;
  }
  GenerateInput input;
  std::string error = parse_generate(body, *context_.tokenizer, input);
  std::optional<int> rank;
  if (error.empty()) rank = pinned_rank(context_, exchange.request(), input.routed_dp_rank, &error);
  if (!error.empty()) {
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  Generation generation(context_, std::move(input.prompts));
  if (error = generation.start(co_await net::this_coro::executor, rank); !error.empty()) {
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  WatchGuard guard{exchange};
  exchange.watch_disconnect([&generation] { generation.cancel(); });
  const Tokenizer& tokenizer = *context_.tokenizer;
  if (!input.stream) {
    while (!generation.done() && !generation.cancelled()) co_await generation.next();
    if (!generation.cancelled()) {
      co_await exchange.respond(200, generate_body(generation, input, tokenizer));
    }
    co_return;
  }
  bhttp::response_header<> head;
  stream_head(head);
  exchange.begin_stream(head, std::nullopt);
  while (!generation.done() && !generation.cancelled()) {
    const std::vector<size_t> changed = co_await generation.next();
    for (size_t sample : changed) {
      if (!co_await exchange.write_body(generate_event(generation, sample, input, tokenizer))) {
        generation.cancel();
        co_return;
      }
    }
  }
  if (generation.cancelled()) co_return;
  if (co_await exchange.write_body("data: [DONE]\n\n")) co_await exchange.end_stream();
}

net::awaitable<void> ApiServer::openai(http::Exchange& exchange, bool chat) {
  json body = parse_body(exchange.request().body());
  if (body.is_discarded()) {
    co_await exchange.respond_error(400, "invalid_request", "malformed JSON body");
    co_return;
  }
  OpenAiInput input;
  // No conditional expression with class-type operands in a coroutine: GCC 12 destroys such
  // temporaries twice.
  std::string error;
  if (chat) {
    error = parse_chat(body, context_, input);
  } else {
    error = parse_completions(body, context_, input);
  }
  std::optional<int> rank;
  if (error.empty()) rank = pinned_rank(context_, exchange.request(), input.routed_dp_rank, &error);
  if (!error.empty()) {
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  Generation generation(context_, std::move(input.prompts));
  if (error = generation.start(co_await net::this_coro::executor, rank); !error.empty()) {
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  WatchGuard guard{exchange};
  exchange.watch_disconnect([&generation] { generation.cancel(); });
  const Tokenizer& tokenizer = *context_.tokenizer;
  if (!input.stream) {
    while (!generation.done() && !generation.cancelled()) co_await generation.next();
    if (!generation.cancelled()) {
      co_await exchange.respond(200, dump(openai_response(generation, input, tokenizer)));
    }
    co_return;
  }
  bhttp::response_header<> head;
  stream_head(head);
  exchange.begin_stream(head, std::nullopt);
  OpenAiStream stream(input, generation.samples().size());
  while (!generation.done() && !generation.cancelled()) {
    auto changed = co_await generation.next();
    std::string events;
    for (const json& chunk : stream.chunks(generation, changed, tokenizer)) {
      events += http::format_sse_data(dump(chunk));
    }
    if (!events.empty() && !co_await exchange.write_body(events)) {
      generation.cancel();
      co_return;
    }
  }
  if (generation.cancelled()) co_return;
  std::string tail;
  if (input.include_usage) tail = http::format_sse_data(dump(stream.usage_chunk(generation)));
  tail += "data: [DONE]\n\n";
  if (co_await exchange.write_body(tail)) co_await exchange.end_stream();
}

net::awaitable<void> ApiServer::health_generate(http::Exchange& exchange) {
  // One greedy token through every rank's whole pipeline, within 20 s (SGLang's default).
  auto executor = co_await net::this_coro::executor;
  bool healthy = true;
  for (int rank = 0; rank < context_.dp->dp_size() && healthy; ++rank) {
    std::vector<PromptJob> jobs;
    jobs.push_back(health_job(rank));
    Generation generation(context_, std::move(jobs), false);
    if (!generation.start(executor, rank).empty()) {
      healthy = false;
      break;
    }
    net::steady_timer deadline(executor, std::chrono::seconds(20));
    deadline.async_wait([&generation](http::error_code ec) {
      if (!ec) generation.cancel();
    });
    while (!generation.done() && !generation.cancelled()) co_await generation.next();
    deadline.cancel();
    const auto& s = generation.samples()[0];
    healthy = !generation.cancelled() && s.finish && s.finish->kind != FinishKind::kAbort &&
              s.finish->kind != FinishKind::kError;
  }
  if (healthy) {
    co_await exchange.respond(200, "", "text/plain");
  } else {
    co_await exchange.respond_error(503, "unhealthy", "health check generation failed");
  }
}

}  // namespace dpserve::engine
