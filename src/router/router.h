// The router application: endpoints, proxying and worker management on top of the generic HTTP
// server. One instance per process, shared by every io thread.
#pragma once

#include "common/http/server.h"
#include "router/config.h"
#include "router/extract.h"
#include "router/metrics.h"
#include "router/registry.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::router {

namespace net = http::net;

// The outcome of registering one URL (health wait, discovery, DP expansion).
struct Registration {
  bool ok = false;
  std::string error;
  std::vector<EntryPtr> entries;
};

class Router {
 public:
  explicit Router(RouterConfig config);
  ~Router();

  net::awaitable<void> handle(http::Exchange& exchange);
  // Prometheus text exposition of the router's metrics.
  std::string render_metrics() const;
  RouterMetrics& metrics() { return *metrics_; }

  // Starts background work on `server`'s first io thread: registration of --worker-urls and the
  // policy's periodic tick.
  void start(http::Server& server);

  // Health-waits, discovers and registers `url`; `id` names the worker (ranks get "-<rank>").
  net::awaitable<Registration> register_worker(std::string url, std::string id,
                                               std::chrono::milliseconds health_wait);
  // Marks the workers draining, waits until their in-flight requests finish (bounded by the
  // request timeout), then removes them.
  net::awaitable<void> drain_and_remove(std::vector<EntryPtr> entries);

  const RouterConfig& config() const { return config_; }
  WorkerRegistry& registry() { return registry_; }
  Policy& policy() { return *policy_; }

 private:
  struct Job {
    std::string url;
    std::string state;  // "pending", "active", "failed"
    std::string error;
  };

  using Clock = std::chrono::steady_clock;
  net::awaitable<void> proxy(http::Exchange& exchange, ApiKind kind, std::string_view request_id,
                             Clock::time_point start);
  // Selects a worker for `route`, skipping `exclude`. On failure returns nullptr and fills the
  // error to send.
  EntryPtr pick(const RouteRequest& route, std::span<const Worker* const> exclude, unsigned& status,
                std::string_view& code, std::string& message);

  // Admin and info endpoints (admin.cpp).
  net::awaitable<void> list_models(http::Exchange& exchange);
  net::awaitable<void> forward_info(http::Exchange& exchange, std::string_view path);
  net::awaitable<void> readiness(http::Exchange& exchange);
  net::awaitable<void> health_generate(http::Exchange& exchange);
  net::awaitable<void> get_loads(http::Exchange& exchange);
  net::awaitable<void> flush_cache(http::Exchange& exchange);
  net::awaitable<void> list_workers(http::Exchange& exchange);
  net::awaitable<void> add_worker(http::Exchange& exchange);
  net::awaitable<void> get_worker(http::Exchange& exchange, std::string_view id);
  net::awaitable<void> delete_worker(http::Exchange& exchange, std::string_view id);
  net::awaitable<void> legacy_add_worker(http::Exchange& exchange);
  net::awaitable<void> legacy_remove_worker(http::Exchange& exchange);
  net::awaitable<void> legacy_list_workers(http::Exchange& exchange);
  net::awaitable<void> run_job(std::string url, std::string id);

  RouterConfig config_;
  std::unique_ptr<Policy> policy_;
  WorkerRegistry registry_;
  std::chrono::milliseconds request_timeout_;
  std::unique_ptr<RouterMetrics> metrics_;
  std::mutex jobs_mu_;
  std::map<std::string, Job, std::less<>> jobs_;
};

}  // namespace dpserve::router
