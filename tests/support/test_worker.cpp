// dpserve_test_worker: a scriptable stand-in for an inference engine, for integration tests.
// Each request's behaviour is chosen by x-test-* headers (the router forwards client headers):
//   x-test-status: N       answer N with a JSON error body
//   x-test-events: N       stream N SSE events (also when the body says "stream": true; N=3)
//   x-test-delay-ms: D     wait D ms before each event after the first
//   x-test-hold: 1         after the first event, wait until POST /release
//   x-test-hang: 1         never answer; counted as cancelled when the client goes away
//   x-test-close: 1        close the connection without answering
//   x-test-close-mid: 1    send the first event, then close the connection
// Otherwise POSTs are echoed: {"worker","method","path","body","headers"}.
#include "common/http/server.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace {

using namespace dpserve::http;
using nlohmann::json;

struct State {
  std::string name = "worker";
  std::string model = "test-model";
  std::string api_key;
  int dp_size = 1;
  bool healthy = true;
  int64_t requests = 0;
  int64_t cancelled = 0;
  int64_t in_flight = 0;
  std::set<net::steady_timer*> holds;
};

State g_state;

int header_int(const Request& request, std::string_view name, int fallback) {
  const Header* header = request.find(name);
  if (!header) return fallback;
  return std::atoi(std::string(header->value).c_str());
}

bool header_set(const Request& request, std::string_view name) {
  return request.find(name) != nullptr;
}

net::awaitable<void> sleep_ms(int ms) {
  net::steady_timer timer(co_await net::this_coro::executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(kUse);
}

std::string event_json(int index) {
  json event = {
      {"index", index}, {"worker", g_state.name}, {"text", "tok" + std::to_string(index)}};
  return "data: " + event.dump() + "\n\n";
}

// JSON is built in plain functions: GCC 12 miscompiles braced initializer lists with string
// literals inside coroutines ("array used as initializer").
std::string server_info() {
  json info = {{"dp_size", g_state.dp_size},
               {"served_model_name", g_state.model},
               {"model_path", "/models/" + g_state.model},
               {"worker", g_state.name}};
  return info.dump();
}

std::string model_info() { return json{{"model_path", "/models/" + g_state.model}}.dump(); }

std::string models() {
  json list = {{"object", "list"},
               {"data", json::array({{{"id", g_state.model}, {"object", "model"}}})}};
  return list.dump();
}

std::string loads() {
  json list = json::array();
  for (int rank = 0; rank < g_state.dp_size; ++rank) {
    list.push_back({{"dp_rank", rank}, {"num_reqs", g_state.in_flight}, {"num_tokens", 7}});
  }
  return list.dump();
}

std::string stats() {
  json out = {{"requests", g_state.requests},
              {"cancelled", g_state.cancelled},
              {"in_flight", g_state.in_flight}};
  return out.dump();
}

std::string echo(const Request& request) {
  json headers = json::object();
  for (const auto& header : request.headers()) {
    std::string name(header.name);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[name] = std::string(header.value);
  }
  json out = {{"worker", g_state.name},
              {"method", std::string(request.method_string())},
              {"path", std::string(request.target())},
              {"body", request.body()},
              {"headers", headers}};
  return out.dump();
}

bool wants_stream(const Request& request) {
  auto body = json::parse(request.body(), nullptr, false);
  return body.is_object() && body.value("stream", false);
}

void set_health(const Request& request) {
  auto body = json::parse(request.body(), nullptr, false);
  g_state.healthy = body.is_object() && body.value("healthy", true);
}

net::awaitable<void> stream_events(Exchange& exchange, int count) {
  auto& request = exchange.request();
  int delay = header_int(request, "x-test-delay-ms", 0);
  bool hold = header_set(request, "x-test-hold");
  bool close_mid = header_set(request, "x-test-close-mid");
  bhttp::response_header<> head;
  head.result(bhttp::status::ok);
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  exchange.begin_stream(head, std::nullopt);
  bool gone = false;
  exchange.watch_disconnect([&gone] { gone = true; });
  for (int i = 0; i < count; ++i) {
    if (i > 0 && hold) {
      net::steady_timer timer(co_await net::this_coro::executor,
                              std::chrono::steady_clock::time_point::max());
      g_state.holds.insert(&timer);
      co_await timer.async_wait(kUse);
      g_state.holds.erase(&timer);
      hold = false;
    }
    if (i > 0 && delay > 0) co_await sleep_ms(delay);
    if (gone || !co_await exchange.write_body(event_json(i))) {
      ++g_state.cancelled;
      co_return;
    }
    if (close_mid) {
      error_code ec;
      exchange.socket().close(ec);
      co_return;
    }
  }
  co_await exchange.write_body("data: [DONE]\n\n");
  co_await exchange.end_stream();
}

net::awaitable<void> hang(Exchange& exchange) {
  net::steady_timer timer(co_await net::this_coro::executor,
                          std::chrono::steady_clock::time_point::max());
  exchange.watch_disconnect([&timer] { timer.cancel(); });
  co_await timer.async_wait(kUse);
  ++g_state.cancelled;
  error_code ec;
  exchange.socket().close(ec);
}

net::awaitable<void> handle_post(Exchange& exchange) {
  auto& request = exchange.request();
  if (int status = header_int(request, "x-test-status", 0); status != 0) {
    co_await exchange.respond_error(static_cast<unsigned>(status), "test_failure",
                                    "test worker: failing on request");
    co_return;
  }
  if (header_set(request, "x-test-hang")) {
    co_await hang(exchange);
    co_return;
  }
  if (header_set(request, "x-test-close")) {
    error_code ec;
    exchange.socket().close(ec);
    co_return;
  }
  int events = header_int(request, "x-test-events", 0);
  if (events == 0 && wants_stream(request)) events = 3;
  if (events > 0) {
    co_await stream_events(exchange, events);
    co_return;
  }
  co_await exchange.respond(200, echo(request));
}

net::awaitable<void> handle(Exchange& exchange) {
  auto& request = exchange.request();
  std::string path(request.target().substr(0, request.target().find('?')));
  bool get = request.method() == bhttp::verb::get;
  if (path == "/health" || path == "/health_generate") {
    co_await exchange.respond(g_state.healthy ? 200 : 503, "OK", "text/plain");
    co_return;
  }
  if (!g_state.api_key.empty() &&
      request.header(HeaderKind::kAuthorization) != "Bearer " + g_state.api_key) {
    co_await exchange.respond_error(401, "unauthorized", "test worker: bad key");
    co_return;
  }
  if (get && path == "/get_server_info") {
    co_await exchange.respond(200, server_info());
  } else if (get && path == "/get_model_info") {
    co_await exchange.respond(200, model_info());
  } else if (get && path == "/v1/models") {
    co_await exchange.respond(200, models());
  } else if (get && path == "/get_load") {
    co_await exchange.respond(200, loads());
  } else if (get && path == "/stats") {
    co_await exchange.respond(200, stats());
  } else if (!get && path == "/flush_cache") {
    co_await exchange.respond(200, "Cache flushed.", "text/plain");
  } else if (!get && path == "/release") {
    for (auto* timer : g_state.holds) timer->cancel();
    co_await exchange.respond(200, "{}");
  } else if (!get && path == "/set_health") {
    set_health(request);
    co_await exchange.respond(200, "{}");
  } else if (get) {
    co_await exchange.respond_error(404, "not_found", "test worker: no such path");
  } else {
    ++g_state.requests;
    ++g_state.in_flight;
    co_await handle_post(exchange);
    --g_state.in_flight;
  }
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions options;
  options.threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--port") {
      options.port = static_cast<uint16_t>(std::atoi(value.c_str()));
    } else if (flag == "--name") {
      g_state.name = value;
    } else if (flag == "--model") {
      g_state.model = value;
    } else if (flag == "--dp-size") {
      g_state.dp_size = std::atoi(value.c_str());
    } else if (flag == "--api-key") {
      g_state.api_key = value;
    } else {
      std::fprintf(stderr, "dpserve_test_worker: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  Server server(options, handle);
  std::printf("listening on http://127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  server.run();
  return 0;
}
