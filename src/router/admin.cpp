// Info, health and worker-management endpoints. JSON is built in plain helper functions: GCC 12
// mishandles braced initializer lists with string literals inside coroutines.
#include "common/http/client.h"
#include "common/json_error.h"
#include "common/strings.h"
#include "router/router.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <set>

namespace dpserve::router {

namespace bhttp = http::bhttp;
using http::kUse;
using nlohmann::json;

namespace {

constexpr auto kAdminTimeout = std::chrono::milliseconds(5000);

std::string percent_decode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (in[i] == '+') {
      out += ' ';
    } else {
      out += in[i];
    }
  }
  return out;
}

// The value of query parameter `name` in `target`, decoded; "" when absent.
std::string query_param(std::string_view target, std::string_view name) {
  auto question = target.find('?');
  if (question == std::string_view::npos) return "";
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
      return percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

json worker_json(const WorkerEntry& entry) {
  const Worker& w = *entry.worker;
  json out = {{"id", w.id()},
              {"url", w.url()},
              {"base_url", entry.base_url},
              {"model_id", w.model_id()},
              {"worker_type", "regular"},
              {"connection_mode", "http"},
              {"is_healthy", w.healthy()},
              {"draining", w.draining()},
              {"circuit_open", w.circuit_open()},
              {"load", w.in_flight_requests()},
              {"in_flight_tokens", w.in_flight_tokens()},
              {"dp_size", entry.dp_size}};
  out["dp_rank"] = w.dp_rank() ? json(*w.dp_rank()) : json(nullptr);
  return out;
}

// A registered worker, also answering as the finished registration job of the same id.
std::string registered_worker_body(const WorkerEntry& entry) {
  json out = worker_json(entry);
  out["job_status"] = "active";
  return out.dump();
}

std::string workers_body(const RegistrySnapshot& snapshot) {
  json list = json::array();
  for (const auto& entry : snapshot.entries) list.push_back(worker_json(*entry));
  json out = {
      {"workers", list},
      {"total", snapshot.entries.size()},
      {"stats",
       {{"regular_count", snapshot.entries.size()}, {"prefill_count", 0}, {"decode_count", 0}}}};
  return out.dump();
}

std::string models_body(const RegistrySnapshot& snapshot) {
  json data = json::array();
  for (const auto& group : snapshot.groups) {
    data.push_back({{"id", group.model}, {"object", "model"}, {"owned_by", "dpserve"}});
  }
  return json{{"object", "list"}, {"data", data}}.dump();
}

std::string readiness_body(bool ready, size_t healthy, size_t total) {
  json out = {{"status", ready ? "ready" : "not ready"},
              {"healthy_workers", healthy},
              {"total_workers", total}};
  return out.dump();
}

std::vector<std::string> distinct_urls(const RegistrySnapshot& snapshot) {
  std::vector<std::string> urls;
  for (const auto& entry : snapshot.entries) {
    if (std::find(urls.begin(), urls.end(), entry->base_url) == urls.end()) {
      urls.push_back(entry->base_url);
    }
  }
  return urls;
}

// Results of one request to each endpoint, made concurrently on the calling thread.
struct FanOut {
  std::vector<http::FetchResult> results;
  size_t remaining = 0;
  std::optional<net::steady_timer> done;
};

net::awaitable<std::vector<http::FetchResult>> fan_out(std::vector<http::Endpoint> endpoints,
                                                       bhttp::verb method, std::string target,
                                                       std::string bearer) {
  auto executor = co_await net::this_coro::executor;
  auto state = std::make_shared<FanOut>();
  state->results.resize(endpoints.size());
  state->remaining = endpoints.size();
  state->done.emplace(executor, std::chrono::steady_clock::time_point::max());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    net::co_spawn(
        executor,
        [state, i, endpoint = endpoints[i], method, target, bearer]() -> net::awaitable<void> {
          state->results[i] =
              co_await http::fetch(endpoint, method, target, "", bearer, kAdminTimeout);
          if (--state->remaining == 0) state->done->cancel();
        },
        net::detached);
  }
  if (state->remaining > 0) co_await state->done->async_wait(kUse);
  co_return std::move(state->results);
}

std::string fetch_error(const http::FetchResult& result) {
  if (result.ec) return result.ec.message();
  return "status " + std::to_string(result.status);
}

// Sum of num_tokens over a /get_load answer (an array per DP rank, or one object); with `rank`
// only that rank's entry counts. -1 when unreadable.
int64_t load_of(const http::FetchResult& result, std::optional<int> rank) {
  if (result.status != 200) return -1;
  auto body = json::parse(result.body, nullptr, false);
  if (body.is_object()) body = json::array({body});
  if (!body.is_array()) return -1;
  int64_t total = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const auto& item = body[i];
    if (!item.is_object()) return -1;
    if (rank) {
      int item_rank = item.value("dp_rank", static_cast<int>(i));
      if (item_rank != *rank) continue;
    }
    total += item.value("num_tokens", int64_t{0});
  }
  return total;
}

std::string loads_body(const RegistrySnapshot& snapshot, const std::vector<std::string>& urls,
                       const std::vector<http::FetchResult>& results) {
  json list = json::array();
  for (const auto& entry : snapshot.entries) {
    size_t i =
        static_cast<size_t>(std::find(urls.begin(), urls.end(), entry->base_url) - urls.begin());
    list.push_back({{"worker", entry->worker->url()},
                    {"load", load_of(results[i], entry->worker->dp_rank())}});
  }
  return json{{"workers", list}}.dump();
}

std::string flush_body(const std::vector<std::string>& urls,
                       const std::vector<http::FetchResult>& results, size_t total_workers) {
  json successful = json::array();
  json failed = json::array();
  for (size_t i = 0; i < urls.size(); ++i) {
    if (results[i].status == 200) {
      successful.push_back(urls[i]);
    } else {
      failed.push_back({{"worker", urls[i]}, {"error", fetch_error(results[i])}});
    }
  }
  bool all_ok = failed.empty();
  json out = {
      {"status", all_ok ? "success" : "partial_success"},
      {"message", all_ok ? "cache flushed on every worker" : "cache flush failed on some workers"},
      {"workers_flushed", successful.size()},
      {"total_http_workers", urls.size()},
      {"total_workers", total_workers},
      {"successful", successful},
      {"failed", failed}};
  return out.dump();
}

std::string accepted_body(const std::string& id, const std::string& url) {
  json out = {
      {"status", "accepted"}, {"worker_id", id}, {"url", url}, {"location", "/workers/" + id}};
  return out.dump();
}

std::string job_body(const std::string& id, const std::string& url, const std::string& state,
                     const std::string& error, const std::vector<EntryPtr>& entries) {
  json workers = json::array();
  for (const auto& entry : entries) workers.push_back(worker_json(*entry));
  json out = {{"id", id}, {"url", url}, {"job_status", state}, {"workers", workers}};
  if (!error.empty()) out["error"] = error;
  return out.dump();
}

std::string deleting_body(const std::string& id, size_t count) {
  json out = {{"status", "accepted"},
              {"worker_id", id},
              {"message", "draining " + std::to_string(count) + " worker(s), then removing"}};
  return out.dump();
}

// POST /workers body: {"url": "..."}; other fields are refused rather than silently ignored.
bool parse_add_body(const std::string& text, std::string& url, std::string& error) {
  auto body = json::parse(text, nullptr, false);
  if (!body.is_object()) {
    error = "body must be a JSON object like {\"url\": \"http://host:port\"}";
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "url") {
      error = "field '" + key + "' is not supported (only 'url')";
      return false;
    }
  }
  auto it = body.find("url");
  if (it == body.end() || !it->is_string()) {
    error = "'url' (a string) is required";
    return false;
  }
  url = it->get<std::string>();
  return true;
}

std::string urls_body(const std::vector<std::string>& urls) { return json{{"urls", urls}}.dump(); }

std::string health_generate_body() {
  return json{{"text", "ping"},
              {"sampling_params", {{"max_new_tokens", 1}, {"temperature", 0}}},
              {"stream", false}}
      .dump();
}

std::string generate_ok_body(const std::string& worker) {
  return json{{"status", "ok"}, {"worker", worker}}.dump();
}

const WorkerEntry* first_available(const RegistrySnapshot& snapshot) {
  for (const auto& entry : snapshot.entries) {
    if (entry->worker->available()) return entry.get();
  }
  return nullptr;
}

}  // namespace

net::awaitable<void> Router::list_models(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  if (snapshot->groups.empty()) {
    co_await exchange.respond_error(503, "no_available_workers", "no workers are registered");
    co_return;
  }
  co_await exchange.respond(200, models_body(*snapshot));
}

net::awaitable<void> Router::forward_info(http::Exchange& exchange, std::string_view path) {
  auto snapshot = registry_.shared();
  const WorkerEntry* entry = first_available(*snapshot);
  if (!entry) {
    co_await exchange.respond_error(503, "no_available_workers", "no healthy worker");
    co_return;
  }
  auto result = co_await http::fetch(entry->endpoint, bhttp::verb::get, path, "", config_.api_key,
                                     kAdminTimeout);
  if (result.ec) {
    co_await exchange.respond_error(502, "upstream_unavailable",
                                    "worker " + entry->worker->url() + ": " + result.ec.message());
    co_return;
  }
  // No conditional expression with class-type operands inside co_await: GCC 12 destroys such
  // temporaries twice in coroutines.
  std::string content_type = std::move(result.content_type);
  if (content_type.empty()) content_type = "application/json";
  co_await exchange.respond(result.status, std::move(result.body), content_type);
}

net::awaitable<void> Router::readiness(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  size_t healthy = 0;
  for (const auto& entry : snapshot->entries) healthy += entry->worker->available() ? 1 : 0;
  bool ready = healthy > 0;
  co_await exchange.respond(ready ? 200 : 503,
                            readiness_body(ready, healthy, snapshot->entries.size()));
}

net::awaitable<void> Router::health_generate(http::Exchange& exchange) {
  // A real one-token generation through a worker the policy picks, like a client request.
  RouteRequest route;
  route.text = "ping";
  route.prompt_size = 4;
  unsigned status;
  std::string_view code;
  std::string message;
  EntryPtr entry = pick(route, {}, status, code, message);
  if (!entry) {
    co_await exchange.respond_error(503, code, message);
    co_return;
  }
  LoadGuard load(entry->worker, route.prompt_size);
  auto timeout = std::min<std::chrono::milliseconds>(request_timeout_, std::chrono::seconds(60));
  auto result = co_await http::fetch(entry->endpoint, bhttp::verb::post, "/generate",
                                     health_generate_body(), config_.api_key, timeout);
  if (result.status != 200) {
    co_await exchange.respond_error(503, "generation_failed",
                                    "worker " + entry->worker->url() +
                                        " failed a one-token generation: " + fetch_error(result));
    co_return;
  }
  co_await exchange.respond(200, generate_ok_body(entry->worker->url()));
}

net::awaitable<void> Router::get_loads(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  auto urls = distinct_urls(*snapshot);
  std::vector<http::Endpoint> endpoints;
  for (const auto& url : urls) {
    for (const auto& entry : snapshot->entries) {
      if (entry->base_url == url) {
        endpoints.push_back(entry->endpoint);
        break;
      }
    }
  }
  auto results = co_await fan_out(endpoints, bhttp::verb::get, "/get_load", config_.api_key);
  co_await exchange.respond(200, loads_body(*snapshot, urls, results));
}

net::awaitable<void> Router::flush_cache(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  auto urls = distinct_urls(*snapshot);
  std::vector<http::Endpoint> endpoints;
  for (const auto& url : urls) {
    for (const auto& entry : snapshot->entries) {
      if (entry->base_url == url) {
        endpoints.push_back(entry->endpoint);
        break;
      }
    }
  }
  auto results = co_await fan_out(endpoints, bhttp::verb::post, "/flush_cache", config_.api_key);
  bool all_ok = std::all_of(results.begin(), results.end(),
                            [](const http::FetchResult& r) { return r.status == 200; });
  co_await exchange.respond(all_ok ? 200 : 206,
                            flush_body(urls, results, snapshot->entries.size()));
}

net::awaitable<void> Router::list_workers(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  co_await exchange.respond(200, workers_body(*snapshot));
}

net::awaitable<void> Router::add_worker(http::Exchange& exchange) {
  std::string url;
  std::string error;
  if (!parse_add_body(exchange.request().body(), url, error)) {
    co_await exchange.respond_error(400, "invalid_request", error);
    co_return;
  }
  if (!http::parse_endpoint(url, error)) {
    co_await exchange.respond_error(400, "invalid_url", error);
    co_return;
  }
  if (registry_.has_url(url)) {
    co_await exchange.respond_error(409, "worker_exists",
                                    "worker " + url + " is already registered");
    co_return;
  }
  std::string id = make_uuid();
  {
    std::lock_guard lock(jobs_mu_);
    jobs_[id] = Job{url, "pending", ""};
  }
  net::co_spawn(co_await net::this_coro::executor, run_job(url, id), net::detached);
  exchange.add_response_header("location", "/workers/" + id);
  co_await exchange.respond(202, accepted_body(id, url));
}

net::awaitable<void> Router::get_worker(http::Exchange& exchange, std::string_view id) {
  if (auto entry = registry_.find(id)) {
    co_await exchange.respond(200, registered_worker_body(*entry));
    co_return;
  }
  Job job;
  {
    std::lock_guard lock(jobs_mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      job.state = "";
    } else {
      job = it->second;
    }
  }
  if (job.state.empty()) {
    co_await exchange.respond_error(404, "worker_not_found", std::string("no worker ").append(id));
    co_return;
  }
  std::vector<EntryPtr> entries;
  if (job.state == "active") entries = registry_.find_url(job.url);
  co_await exchange.respond(200, job_body(std::string(id), job.url, job.state, job.error, entries));
}

net::awaitable<void> Router::delete_worker(http::Exchange& exchange, std::string_view id) {
  std::vector<EntryPtr> entries;
  if (auto entry = registry_.find(id)) {
    entries.push_back(entry);
  } else {
    std::string url;
    {
      std::lock_guard lock(jobs_mu_);
      if (auto it = jobs_.find(id); it != jobs_.end()) url = it->second.url;
    }
    if (!url.empty()) entries = registry_.find_url(url);
  }
  if (entries.empty()) {
    co_await exchange.respond_error(404, "worker_not_found", std::string("no worker ").append(id));
    co_return;
  }
  for (const auto& entry : entries) entry->worker->set_draining(true);
  net::co_spawn(co_await net::this_coro::executor, drain_and_remove(entries), net::detached);
  co_await exchange.respond(202, deleting_body(std::string(id), entries.size()));
}

net::awaitable<void> Router::legacy_add_worker(http::Exchange& exchange) {
  std::string url = query_param(exchange.request().target(), "url");
  std::string error;
  if (url.empty() || !http::parse_endpoint(url, error)) {
    if (url.empty()) error = "query parameter 'url' is required";
    co_await exchange.respond_error(400, "invalid_url", error);
    co_return;
  }
  auto outcome = co_await register_worker(url, make_uuid(), std::chrono::seconds(2));
  if (!outcome.ok) {
    co_await exchange.respond_error(400, "worker_not_added", outcome.error);
    co_return;
  }
  co_await exchange.respond(200, "Successfully added worker: " + url, "text/plain");
}

net::awaitable<void> Router::legacy_remove_worker(http::Exchange& exchange) {
  std::string url = query_param(exchange.request().target(), "url");
  auto entries = registry_.find_url(url);
  if (entries.empty()) {
    co_await exchange.respond_error(404, "worker_not_found", "no worker " + url);
    co_return;
  }
  co_await drain_and_remove(entries);
  co_await exchange.respond(200, "Successfully removed worker: " + url, "text/plain");
}

net::awaitable<void> Router::legacy_list_workers(http::Exchange& exchange) {
  auto snapshot = registry_.shared();
  co_await exchange.respond(200, urls_body(distinct_urls(*snapshot)));
}

}  // namespace dpserve::router
