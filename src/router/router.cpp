// Request dispatch and the streaming proxy. Admin endpoints are in admin.cpp, worker registration
// in registration.cpp.
#include "router/router.h"

#include "common/http/client.h"
#include "common/random_id.h"
#include "common/strings.h"
#include "router/dashboard.h"
#include "router/policies/factory.h"
#include "router/splice.h"

#include <spdlog/spdlog.h>

#include <array>

namespace dpserve::router {

namespace bhttp = http::bhttp;
using http::kUse;

namespace {

enum class Auth { kOpen, kProtected };
enum class Action {
  kGenerate,
  kCompletions,
  kChat,
  kEmbeddings,
  kModels,
  kModelInfo,
  kServerInfo,
  kHealth,
  kReadiness,
  kHealthGenerate,
  kLoads,
  kFlushCache,
  kWorkers,
  kAddWorker,
  kRemoveWorker,
  kListWorkers,
  kPolicyStats,
  kPolicyReset,
  kMetrics,
  kDashboard,
};

struct Route {
  std::string_view path;
  bhttp::verb method;
  Auth auth;
  Action action;
  std::string_view id_prefix;
};

// Inference and admin routes need the API key; probes and model listings never do.
constexpr Route kRoutes[] = {
    {"/generate", bhttp::verb::post, Auth::kProtected, Action::kGenerate, "gnt-"},
    {"/v1/completions", bhttp::verb::post, Auth::kProtected, Action::kCompletions, "cmpl-"},
    {"/v1/chat/completions", bhttp::verb::post, Auth::kProtected, Action::kChat, "chatcmpl-"},
    {"/v1/embeddings", bhttp::verb::post, Auth::kProtected, Action::kEmbeddings, "req-"},
    {"/v1/models", bhttp::verb::get, Auth::kOpen, Action::kModels, "req-"},
    {"/get_model_info", bhttp::verb::get, Auth::kOpen, Action::kModelInfo, "req-"},
    {"/get_server_info", bhttp::verb::get, Auth::kOpen, Action::kServerInfo, "req-"},
    {"/health", bhttp::verb::get, Auth::kOpen, Action::kHealth, "req-"},
    {"/liveness", bhttp::verb::get, Auth::kOpen, Action::kHealth, "req-"},
    {"/readiness", bhttp::verb::get, Auth::kOpen, Action::kReadiness, "req-"},
    {"/health_generate", bhttp::verb::get, Auth::kOpen, Action::kHealthGenerate, "req-"},
    {"/get_loads", bhttp::verb::get, Auth::kProtected, Action::kLoads, "req-"},
    {"/flush_cache", bhttp::verb::post, Auth::kProtected, Action::kFlushCache, "req-"},
    {"/workers", bhttp::verb::get, Auth::kProtected, Action::kWorkers, "req-"},
    {"/workers", bhttp::verb::post, Auth::kProtected, Action::kWorkers, "req-"},
    {"/add_worker", bhttp::verb::post, Auth::kProtected, Action::kAddWorker, "req-"},
    {"/remove_worker", bhttp::verb::post, Auth::kProtected, Action::kRemoveWorker, "req-"},
    {"/list_workers", bhttp::verb::get, Auth::kProtected, Action::kListWorkers, "req-"},
    {"/policy/stats", bhttp::verb::get, Auth::kProtected, Action::kPolicyStats, "req-"},
    {"/policy/reset", bhttp::verb::post, Auth::kProtected, Action::kPolicyReset, "req-"},
    {"/metrics", bhttp::verb::get, Auth::kProtected, Action::kMetrics, "req-"},
    {"/dashboard", bhttp::verb::get, Auth::kOpen, Action::kDashboard, "req-"},
};
constexpr size_t kRouteCount = std::size(kRoutes);
// Metrics route indices past kRoutes.
constexpr size_t kGetWorkerRoute = kRouteCount;
constexpr size_t kDeleteWorkerRoute = kRouteCount + 1;
constexpr size_t kOtherRoute = kRouteCount + 2;

std::vector<RouterMetrics::RouteName> metric_routes() {
  std::vector<RouterMetrics::RouteName> names;
  for (const auto& route : kRoutes) {
    names.push_back({std::string(bhttp::to_string(route.method)), std::string(route.path)});
  }
  names.push_back({"GET", "/workers/{id}"});
  names.push_back({"DELETE", "/workers/{id}"});
  names.push_back({"other", "other"});
  return names;
}

constexpr std::string_view kRequestIdHeaders[] = {"x-request-id", "x-correlation-id", "x-trace-id",
                                                  "request-id"};

bool skip_forwarded_header(const http::Header& header) {
  switch (header.kind) {
    case http::HeaderKind::kHost:
    case http::HeaderKind::kExpect:
    case http::HeaderKind::kAuthorization:
    case http::HeaderKind::kRequestId:
      return true;
    default:
      return http::is_hop_by_hop(header.kind);
  }
}

// The read into the connection buffer's free space (not a coroutine: no frame per read).
auto read_into(http::Connection& connection) {
  auto& buffer = connection.buffer;
  size_t room = std::max<size_t>(buffer.capacity() - buffer.size(), 4096);
  return connection.socket.async_read_some(buffer.prepare(room), kUse);
}

// Reads the worker's response head into `head` (1xx interim responses skipped). `got_some` says
// whether any byte of a response arrived (a reused connection that failed before that is retried).
net::awaitable<http::error_code> read_response_head(http::Connection& connection,
                                                    http::MessageHead& head, size_t& head_bytes,
                                                    bool& got_some) {
  constexpr size_t kMaxHead = 64 * 1024;
  http::HeadScanner scanner;
  got_some = connection.buffer.size() > 0;
  for (;;) {
    auto scan = scanner.scan(http::view_of(connection.buffer));
    if (scan == http::HeadScanner::Result::kFound) {
      std::string error;
      auto bytes = http::view_of(connection.buffer).substr(0, scanner.head_bytes());
      if (http::parse_response_head(bytes, head, error) != http::ParseResult::kOk) {
        co_return bhttp::error::bad_status;
      }
      if (head.status >= 200) {
        head_bytes = scanner.head_bytes();
        co_return http::error_code{};
      }
      // 100 Continue and the like (a 101 cannot come: Upgrade is never forwarded).
      connection.buffer.consume(scanner.head_bytes());
      scanner.reset();
      continue;
    }
    if (scan == http::HeadScanner::Result::kInvalid || connection.buffer.size() > kMaxHead) {
      co_return bhttp::error::bad_line_ending;
    }
    auto [ec, n] = co_await read_into(connection);
    connection.buffer.commit(n);
    if (ec) co_return ec;
    got_some = true;
  }
}

// How relaying a response body ended. kDone leaves the connection reusable (nothing of another
// response read); kDoneAtClose means the body ended with the connection.
enum class Relay { kDone, kDoneAtClose, kClientGone, kUpstreamBroken };

// Relays the body after the head, already consumed from the buffer. Every write to the client is
// awaited before more is read: a slow client slows the worker, not our memory.
net::awaitable<Relay> relay_body(http::Connection& connection, http::Exchange& exchange,
                                 http::BodyFraming framing, uint64_t length) {
  auto& buffer = connection.buffer;
  switch (framing) {
    case http::BodyFraming::kNone:
      co_return Relay::kDone;
    case http::BodyFraming::kLength:
      while (length > 0) {
        if (buffer.size() == 0) {
          auto [ec, n] = co_await read_into(connection);
          buffer.commit(n);
          if (ec) co_return Relay::kUpstreamBroken;
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length));
        if (!co_await exchange.write_body(http::view_of(buffer).substr(0, n))) {
          co_return Relay::kClientGone;
        }
        buffer.consume(n);
        length -= n;
      }
      co_return Relay::kDone;
    case http::BodyFraming::kChunked: {
      http::ChunkedDecoder decoder;
      for (;;) {
        if (buffer.size() > 0) {
          auto* data = static_cast<char*>(buffer.data().data());
          auto decoded = decoder.decode(data, buffer.size());
          if (decoded.error) co_return Relay::kUpstreamBroken;
          if (!co_await exchange.write_body(std::string_view(data, decoded.payload))) {
            co_return Relay::kClientGone;
          }
          buffer.consume(decoded.consumed);
          if (decoded.done) co_return Relay::kDone;
        }
        auto [ec, n] = co_await read_into(connection);
        buffer.commit(n);
        if (ec) co_return Relay::kUpstreamBroken;
      }
    }
    case http::BodyFraming::kUntilClose:
      for (;;) {
        if (buffer.size() > 0) {
          if (!co_await exchange.write_body(http::view_of(buffer))) co_return Relay::kClientGone;
          buffer.consume(buffer.size());
        }
        auto [ec, n] = co_await read_into(connection);
        buffer.commit(n);
        if (ec == net::error::eof) co_return Relay::kDoneAtClose;
        if (ec) co_return Relay::kUpstreamBroken;
      }
  }
  co_return Relay::kUpstreamBroken;
}

}  // namespace

Router::Router(RouterConfig config)
    : config_(std::move(config)),
      policy_(make_policy(config_.policy)),
      registry_(*policy_),
      request_timeout_(std::chrono::seconds(config_.request_timeout_secs)),
      metrics_(
          std::make_unique<RouterMetrics>(metric_routes(), config_.prometheus_duration_buckets)) {}

Router::~Router() = default;

std::string Router::render_metrics() const {
  auto snapshot = registry_.shared();
  return metrics_->render(*snapshot, *policy_);
}

net::awaitable<void> Router::handle(http::Exchange& exchange) {
  const auto start = Clock::now();
  size_t route_index = kOtherRoute;
  // Recorded however the handler ends (one coroutine frame less than a wrapping coroutine).
  struct RecordHttp {
    RouterMetrics& metrics;
    http::Exchange& exchange;
    Clock::time_point start;
    size_t& route_index;
    ~RecordHttp() {
      const std::chrono::duration<double> elapsed = Clock::now() - start;
      metrics.record_http(route_index, exchange.status(), elapsed.count());
    }
  } record{*metrics_, exchange, start, route_index};
  auto& request = exchange.request();
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));

  const Route* route = nullptr;
  bool path_known = false;
  for (const auto& candidate : kRoutes) {
    if (candidate.path != path) continue;
    path_known = true;
    if (candidate.method == request.method()) {
      route = &candidate;
      break;
    }
  }
  bool worker_path = path.size() > 9 && path.substr(0, 9) == "/workers/";
  if (worker_path) path_known = true;
  if (route) {
    route_index = static_cast<size_t>(route - kRoutes);
  } else if (worker_path && request.method() == bhttp::verb::get) {
    route_index = kGetWorkerRoute;
  } else if (worker_path && request.method() == bhttp::verb::delete_) {
    route_index = kDeleteWorkerRoute;
  }

  // The client's id (a view into its request) or a generated one (kept in this frame).
  std::string_view request_id;
  for (auto name : kRequestIdHeaders) {
    const http::Header* header = request.find(name);
    if (header && !header->value.empty() && header->value.size() <= 256) {
      request_id = header->value;
      break;
    }
  }
  char generated_id[48];
  if (request_id.empty()) {
    request_id = common::random_alnum_into(generated_id, route ? route->id_prefix : "req-", 24);
  }
  exchange.add_response_header("x-request-id", request_id);

  if (!path_known) {
    co_await exchange.respond_error(404, "not_found", std::string("no route for ").append(path));
    co_return;
  }
  bool worker_method_ok =
      request.method() == bhttp::verb::get || request.method() == bhttp::verb::delete_;
  if (!route && !(worker_path && worker_method_ok)) {
    std::string allowed;
    for (const auto& candidate : kRoutes) {
      if (candidate.path != path) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(bhttp::to_string(candidate.method));
    }
    if (worker_path) allowed = "GET, DELETE";
    exchange.add_response_header("allow", allowed);
    co_await exchange.respond_error(405, "method_not_allowed",
                                    std::string(request.method_string()) + " is not allowed on " +
                                        std::string(path) + " (allowed: " + allowed + ")");
    co_return;
  }
  bool needs_key = worker_path || route->auth == Auth::kProtected;
  if (needs_key && !config_.api_key.empty()) {
    auto presented = request.header(http::HeaderKind::kAuthorization);
    constexpr std::string_view kBearer = "Bearer ";
    if (presented.size() != kBearer.size() + config_.api_key.size() ||
        presented.substr(0, kBearer.size()) != kBearer ||
        presented.substr(kBearer.size()) != config_.api_key) {
      exchange.add_response_header("www-authenticate", "Bearer");
      co_await exchange.respond_error(401, "unauthorized",
                                      "missing or invalid API key (send Authorization: Bearer)");
      co_return;
    }
  }
  if (worker_path) {
    std::string_view id = path.substr(9);
    if (request.method() == bhttp::verb::get) {
      co_await get_worker(exchange, id);
    } else {
      co_await delete_worker(exchange, id);
    }
    co_return;
  }
  switch (route->action) {
    case Action::kGenerate:
      co_await proxy(exchange, ApiKind::kGenerate, request_id, start);
      break;
    case Action::kCompletions:
      co_await proxy(exchange, ApiKind::kCompletions, request_id, start);
      break;
    case Action::kChat:
      co_await proxy(exchange, ApiKind::kChat, request_id, start);
      break;
    case Action::kEmbeddings:
      co_await proxy(exchange, ApiKind::kEmbeddings, request_id, start);
      break;
    case Action::kModels:
      co_await list_models(exchange);
      break;
    case Action::kModelInfo:
      co_await forward_info(exchange, "/get_model_info");
      break;
    case Action::kServerInfo:
      co_await forward_info(exchange, "/get_server_info");
      break;
    case Action::kHealth:
      co_await exchange.respond(200, "OK", "text/plain");
      break;
    case Action::kReadiness:
      co_await readiness(exchange);
      break;
    case Action::kHealthGenerate:
      co_await health_generate(exchange);
      break;
    case Action::kLoads:
      co_await get_loads(exchange);
      break;
    case Action::kFlushCache:
      co_await flush_cache(exchange);
      break;
    case Action::kWorkers:
      if (request.method() == bhttp::verb::get) {
        co_await list_workers(exchange);
      } else {
        co_await add_worker(exchange);
      }
      break;
    case Action::kAddWorker:
      co_await legacy_add_worker(exchange);
      break;
    case Action::kRemoveWorker:
      co_await legacy_remove_worker(exchange);
      break;
    case Action::kListWorkers:
      co_await legacy_list_workers(exchange);
      break;
    case Action::kPolicyStats: {
      // Built outside the co_await: GCC 12 mishandles class-type temporaries there.
      nlohmann::json body = policy_->stats();
      body["policy"] = std::string(policy_->name());
      std::string text = body.dump();
      co_await exchange.respond(200, std::move(text));
      break;
    }
    case Action::kMetrics: {
      std::string text = render_metrics();
      co_await exchange.respond(200, std::move(text), "text/plain; version=0.0.4");
      break;
    }
    case Action::kDashboard: {
      std::string page(dashboard_html());
      co_await exchange.respond(200, std::move(page), "text/html; charset=utf-8");
      break;
    }
    case Action::kPolicyReset: {
      policy_->reset();
      std::string text = R"({"status":"ok","message":"policy state cleared"})";
      co_await exchange.respond(200, std::move(text));
      break;
    }
  }
}

EntryPtr Router::pick(const RouteRequest& route, std::span<const Worker* const> exclude,
                      unsigned& status, std::string_view& code, std::string& message) {
  thread_local std::vector<WorkerPtr> available;
  thread_local std::vector<uint32_t> index;
  const auto& snapshot = registry_.current();
  status = 503;
  code = "no_available_workers";
  if (snapshot.groups.empty()) {
    message = "no workers are registered";
    return nullptr;
  }
  const ModelGroup* group = snapshot.find(route.model);
  if (!group) {
    if (route.model.empty()) {
      status = 400;
      code = "model_required";
      message = "several models are served; the request must name one in 'model'";
    } else {
      status = 404;
      code = "model_not_found";
      message = common::cat({"no worker serves model '", route.model, "'"});
    }
    return nullptr;
  }
  auto usable = [&exclude](const Worker& worker) {
    if (!worker.available()) return false;
    for (const Worker* skip : exclude) {
      if (skip == &worker) return false;
    }
    return true;
  };
  bool all = true;
  for (const auto& worker : group->workers) {
    if (!usable(*worker)) {
      all = false;
      break;
    }
  }
  std::span<const WorkerPtr> candidates = group->workers;
  if (!all) {
    // Rare path (a worker unhealthy, draining or already tried): build the filtered list.
    available.clear();
    index.clear();
    for (uint32_t i = 0; i < group->workers.size(); ++i) {
      if (usable(*group->workers[i])) {
        available.push_back(group->workers[i]);
        index.push_back(i);
      }
    }
    candidates = available;
  }
  if (candidates.empty()) {
    message = exclude.empty() ? "no healthy worker for model '" + group->model + "'"
                              : "every available worker failed";
    return nullptr;
  }
  auto chosen = policy_->select(candidates, route);
  if (!chosen || *chosen >= candidates.size()) {
    message = common::cat({"the ", policy_->name(), " policy selected no worker"});
    return nullptr;
  }
  size_t slot = all ? *chosen : index[*chosen];
  available.clear();
  return group->entries[slot];
}

net::awaitable<void> Router::proxy(http::Exchange& exchange, ApiKind kind,
                                   std::string_view request_id, Clock::time_point start) {
  constexpr size_t kMaxAttempts = 3;
  auto& request = exchange.request();
  std::string& body = request.body();
  auto& extractor = Extractor::local();
  Extracted info;
  std::string error;
  if (!extractor.extract(kind, body, info, error)) {
    metrics_->record_request(kind, false);
    metrics_->record_error(kind, "invalid_request");
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  metrics_->record_request(kind, info.stream);
  const int64_t prompt_size = info.route.prompt_size;
  const auto deadline = start + request_timeout_;
  auto& pool = http::ConnectionPool::local();

  // The disconnect watch closes whichever upstream connection is in use: that aborts the
  // pending upstream read or write, and closing is how the worker learns to stop generating.
  http::Connection* current = nullptr;
  exchange.watch_disconnect([&current] {
    if (current) {
      http::error_code ignored;
      current->socket.close(ignored);
    }
  });
  struct StopWatch {
    http::Exchange& exchange;
    ~StopWatch() { exchange.stop_watching(); }
  } stop_watch{exchange};

  std::array<const Worker*, kMaxAttempts> tried{};
  size_t tried_count = 0;
  std::string last_error;
  unsigned last_status = 502;
  std::string& head = exchange.scratch();  // reused by every request of the connection
  Splice splice;
  for (size_t attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0 && !extractor.extract(kind, body, info, error)) break;  // views refreshed
    unsigned status;
    std::string_view code;
    std::string message;
    EntryPtr entry = pick(info.route, std::span<const Worker* const>(tried.data(), tried_count),
                          status, code, message);
    if (!entry) {
      if (attempt == 0) {
        metrics_->record_error(kind, code);
        co_await exchange.respond_error(status, code, message);
        co_return;
      }
      break;
    }
    if (attempt > 0) metrics_->record_retry(kind);
    tried[tried_count++] = entry->worker.get();
    LoadGuard load(entry->worker, prompt_size);

    // Request head, written by hand: the client's headers minus hop-by-hop ones, our Host,
    // Authorization and x-request-id, and the length of the (possibly spliced) body.
    std::string_view body_view = body;
    bool spliced = config_.dp_aware && entry->worker->dp_rank() &&
                   splice_dp_rank(body_view, *entry->worker->dp_rank(), splice);
    size_t body_size = spliced ? splice.size() : body.size();
    head.clear();
    head.append(request.method_string());
    head += ' ';
    head.append(entry->endpoint.path_prefix);
    head.append(request.target());
    head.append(" HTTP/1.1\r\nHost: ");
    head.append(entry->endpoint.host_header);
    head.append("\r\n");
    for (const auto& header : request.headers()) {
      if (skip_forwarded_header(header)) continue;
      head.append(header.name);
      head.append(": ");
      head.append(header.value);
      head.append("\r\n");
    }
    if (!config_.api_key.empty()) {
      head.append("Authorization: Bearer ").append(config_.api_key).append("\r\n");
    } else if (const auto* auth = request.find(http::HeaderKind::kAuthorization)) {
      head.append("Authorization: ").append(auth->value).append("\r\n");
    }
    head.append("X-Request-Id: ").append(request_id).append("\r\n");
    head.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n\r\n");
    std::array<net::const_buffer, 4> buffers{
        net::buffer(head),
        spliced ? net::buffer(splice.prefix.data(), splice.prefix.size()) : net::buffer(body),
        spliced ? net::buffer(splice.insertion) : net::const_buffer(),
        spliced ? net::buffer(splice.suffix.data(), splice.suffix.size()) : net::const_buffer()};

    // A reused connection may have been closed by the worker while idle: one fresh retry on the
    // same worker, as long as nothing of a response came back.
    for (int connection_try = 0; connection_try < 2; ++connection_try) {
      http::error_code ec;
      auto connection = co_await pool.acquire(entry->endpoint, ec);
      if (exchange.client_gone()) {
        metrics_->record_error(kind, "client_disconnected");
        co_return;
      }
      if (!connection) {
        last_error = "cannot connect to worker " + entry->worker->url() + ": " + ec.message();
        break;
      }
      current = connection.get();
      connection->deadline.expires_at(deadline);
      auto [write_ec, written] = co_await net::async_write(connection->socket, buffers, kUse);
      http::MessageHead& response = connection->head;
      bool got_some = false;
      size_t head_bytes = 0;
      http::error_code read_ec = write_ec;
      if (!write_ec) {
        read_ec = co_await read_response_head(*connection, response, head_bytes, got_some);
      }
      read_ec = connection->deadline.map(read_ec);
      if (exchange.client_gone()) {
        current = nullptr;
        metrics_->record_error(kind, "client_disconnected");
        co_return;
      }
      if (read_ec) {
        current = nullptr;
        if (connection->reused && !got_some && read_ec != http::beast::error::timeout) continue;
        if (read_ec == http::beast::error::timeout) {
          metrics_->record_error(kind, "upstream_timeout");
          co_await exchange.respond_error(
              504, "upstream_timeout",
              "worker " + entry->worker->url() + " did not answer within --request-timeout-secs");
          co_return;
        }
        last_error = "worker " + entry->worker->url() + " failed: " + read_ec.message();
        last_status = 502;
        break;
      }

      // From here on bytes reach the client, so there is no retry.
      metrics_->record_upstream_status(response.status);
      std::optional<uint64_t> length;
      if (response.framing == http::BodyFraming::kLength) length = response.content_length;
      if (response.framing == http::BodyFraming::kNone) length = 0;
      exchange.begin_stream(response, length);  // copies the head out of the buffer
      connection->buffer.consume(head_bytes);
      const bool upstream_keep_alive = response.keep_alive;
      Relay relay =
          co_await relay_body(*connection, exchange, response.framing, response.content_length);
      current = nullptr;
      if (relay == Relay::kClientGone) {  // the connection closes with `connection`
        metrics_->record_error(kind, "client_disconnected");
        co_return;
      }
      if (relay == Relay::kUpstreamBroken) {
        // A truncated body must not look complete: drop the client connection.
        spdlog::warn("router: worker {} broke off a response (request {})", entry->worker->url(),
                     request_id);
        exchange.socket().close();
        metrics_->record_error(kind, "upstream_broken");
        co_return;
      }
      co_await exchange.end_stream();
      if (upstream_keep_alive && relay == Relay::kDone) {
        pool.release(entry->endpoint, std::move(connection));
      }
      const std::chrono::duration<double> elapsed = Clock::now() - start;
      metrics_->record_success(kind, elapsed.count());
      co_return;
    }
    spdlog::warn("router: {} (request {}), trying another worker", last_error, request_id);
  }
  metrics_->record_error(kind, "upstream_unavailable");
  co_await exchange.respond_error(last_status, "upstream_unavailable", last_error);
}

}  // namespace dpserve::router
