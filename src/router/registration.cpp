// Worker registration (health wait, discovery of model id and dp_size, DP-aware expansion),
// draining removal and the background jobs that run them.
#include "common/http/client.h"
#include "router/health_check.h"
#include "router/policies/periodic.h"
#include "router/router.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace dpserve::router {

namespace bhttp = http::bhttp;
using http::kUse;

namespace {

struct Discovered {
  int dp_size = 1;
  bool dp_size_known = false;
  std::string model;
};

// Model id: served_model_name, else model_path, else "unknown" (router-spec.md 0).
Discovered parse_discovery(const http::FetchResult& server_info,
                           const http::FetchResult& model_info) {
  Discovered out;
  std::string model_path;
  if (server_info.status == 200) {
    auto json = nlohmann::json::parse(server_info.body, nullptr, false);
    if (json.is_object()) {
      if (auto it = json.find("dp_size"); it != json.end() && it->is_number_integer()) {
        out.dp_size = std::max(1, it->get<int>());
        out.dp_size_known = true;
      }
      if (auto it = json.find("served_model_name"); it != json.end() && it->is_string()) {
        out.model = it->get<std::string>();
      }
      if (auto it = json.find("model_path"); it != json.end() && it->is_string()) {
        model_path = it->get<std::string>();
      }
    }
  }
  if (model_info.status == 200) {
    auto json = nlohmann::json::parse(model_info.body, nullptr, false);
    if (json.is_object()) {
      if (auto it = json.find("model_path");
          it != json.end() && it->is_string() && model_path.empty()) {
        model_path = it->get<std::string>();
      }
    }
  }
  if (out.model.empty()) out.model = model_path;
  if (out.model.empty()) out.model = "unknown";
  return out;
}

}  // namespace

net::awaitable<Registration> Router::register_worker(std::string url, std::string id,
                                                     std::chrono::milliseconds health_wait) {
  Registration result;
  std::string error;
  auto endpoint = http::parse_endpoint(url, error);
  if (!endpoint) {
    result.error = error;
    co_return result;
  }
  if (registry_.has_url(url)) {
    result.error = "worker " + url + " is already registered";
    co_return result;
  }
  auto executor = co_await net::this_coro::executor;
  const auto give_up = std::chrono::steady_clock::now() + health_wait;
  const auto probe_timeout = std::chrono::milliseconds(5000);
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    auto health = co_await http::fetch(*endpoint, bhttp::verb::get, "/health", "", config_.api_key,
                                       probe_timeout);
    if (health.status == 200) break;
    std::string why = "status " + std::to_string(health.status);
    if (health.ec) why = health.ec.message();
    if (std::chrono::steady_clock::now() + backoff > give_up) {
      result.error = "worker " + url + " is not healthy (" + why + ")";
      co_return result;
    }
    net::steady_timer timer(executor, backoff);
    co_await timer.async_wait(kUse);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
  auto server_info = co_await http::fetch(*endpoint, bhttp::verb::get, "/get_server_info", "",
                                          config_.api_key, probe_timeout);
  auto model_info = co_await http::fetch(*endpoint, bhttp::verb::get, "/get_model_info", "",
                                         config_.api_key, probe_timeout);
  Discovered found = parse_discovery(server_info, model_info);
  if (config_.dp_aware && !found.dp_size_known) {
    result.error = "--dp-aware needs dp_size from " + url + "/get_server_info, which gave none";
    co_return result;
  }
  std::vector<std::shared_ptr<WorkerEntry>> entries;
  int ranks = config_.dp_aware ? found.dp_size : 1;
  for (int rank = 0; rank < ranks; ++rank) {
    auto entry = std::make_shared<WorkerEntry>();
    std::optional<int> dp_rank;
    std::string worker_id = id;
    std::string worker_url = url;
    if (config_.dp_aware) {
      dp_rank = rank;
      worker_id += "-" + std::to_string(rank);
      worker_url += "@" + std::to_string(rank);
    }
    entry->worker = std::make_shared<Worker>(worker_id, worker_url, url, dp_rank, found.model);
    entry->endpoint = *endpoint;
    entry->base_url = url;
    entry->dp_size = found.dp_size;
    entries.push_back(std::move(entry));
  }
  if (!registry_.add(entries)) {
    result.error = "worker " + url + " is already registered";
    co_return result;
  }
  result.ok = true;
  result.entries.assign(entries.begin(), entries.end());
  spdlog::info("router: registered {} (model '{}', dp_size {}, {} routable worker{})", url,
               found.model, found.dp_size, entries.size(), entries.size() == 1 ? "" : "s");
  co_return result;
}

net::awaitable<void> Router::drain_and_remove(std::vector<EntryPtr> entries) {
  for (const auto& entry : entries) entry->worker->set_draining(true);
  auto executor = co_await net::this_coro::executor;
  const auto give_up = std::chrono::steady_clock::now() + request_timeout_;
  for (;;) {
    bool busy = false;
    for (const auto& entry : entries) busy |= entry->worker->in_flight_requests() > 0;
    if (!busy || std::chrono::steady_clock::now() > give_up) break;
    net::steady_timer timer(executor, std::chrono::milliseconds(10));
    co_await timer.async_wait(kUse);
  }
  for (const auto& entry : entries) {
    registry_.remove(entry->worker->id());
    spdlog::info("router: removed worker {}", entry->worker->url());
  }
}

net::awaitable<void> Router::run_job(std::string url, std::string id) {
  auto outcome =
      co_await register_worker(url, id, std::chrono::seconds(config_.worker_startup_timeout_secs));
  if (!outcome.ok) spdlog::error("router: cannot add worker: {}", outcome.error);
  std::lock_guard lock(jobs_mu_);
  auto& job = jobs_[id];
  job.url = url;
  job.state = outcome.ok ? "active" : "failed";
  job.error = outcome.error;
}

namespace {

void log_failure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("router: background task failed: {}", e.what());
  }
}

net::awaitable<void> tick_policy(policies::Periodic& periodic) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kUse);
    if (ec) co_return;
    periodic.tick(std::chrono::steady_clock::now());
  }
}

}  // namespace

void Router::start(http::Server& server) {
  auto& context = server.context(0);
  for (const auto& url : config_.worker_urls) {
    std::string id = make_uuid();
    {
      std::lock_guard lock(jobs_mu_);
      jobs_[id] = Job{url, "pending", ""};
    }
    net::co_spawn(context, run_job(url, id), log_failure);
  }
  if (auto* periodic = dynamic_cast<policies::Periodic*>(policy_.get())) {
    net::co_spawn(context, tick_policy(*periodic), log_failure);
  }
  if (!config_.health.disabled) {
    // The coroutine's copy of the pointer keeps the checker alive as long as the loop runs.
    auto checker = std::make_shared<HealthChecker>(config_.health, registry_, config_.api_key);
    net::co_spawn(
        context, [checker]() { return checker->run(); }, log_failure);
  }
}

}  // namespace dpserve::router
