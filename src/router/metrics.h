// The router's Prometheus metrics, named as the reference router's smg_* set (router-spec.md 5.1)
// so existing dashboards work. Hot-path recording is a few relaxed atomic adds into counters
// indexed by route, endpoint and status code; worker and policy figures are read at scrape time.
#pragma once

#include "common/metrics.h"
#include "router/extract.h"
#include "router/registry.h"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::router {

class RouterMetrics {
 public:
  struct RouteName {
    std::string method;
    std::string path;
  };

  // `routes`: what each route index passed to record_http() stands for.
  RouterMetrics(std::vector<RouteName> routes, std::vector<double> duration_buckets);

  // Every HTTP exchange the router answered; `status` 0 = the client left before any response.
  void record_http(size_t route, unsigned status, double seconds);
  // Inference requests (proxied endpoints): one per client request, whatever the retries.
  void record_request(ApiKind kind, bool stream);
  void record_success(ApiKind kind, double seconds);
  void record_error(ApiKind kind, std::string_view error_type);
  void record_retry(ApiKind kind);
  // Every upstream response head received (one per attempt that got one).
  void record_upstream_status(unsigned status);

  std::atomic<int64_t>& active_connections() { return active_connections_; }

  std::string render(const RegistrySnapshot& snapshot, const Policy& policy) const;

 private:
  static constexpr size_t kStatuses = 600;
  static constexpr size_t kKinds = 4;

  struct Route {
    Route(RouteName n, std::span<const double> bounds) : name(std::move(n)), duration(bounds) {}
    RouteName name;
    metrics::Counter requests;
    metrics::Histogram duration;
  };

  std::vector<double> buckets_;
  std::deque<Route> routes_;  // deque: Route is neither copyable nor movable
  std::array<metrics::Counter, kStatuses> responses_;
  std::array<metrics::Counter, kStatuses> upstream_responses_;
  std::atomic<int64_t> active_connections_{0};
  std::array<std::array<metrics::Counter, 2>, kKinds> requests_;  // [kind][stream]
  std::array<metrics::Counter, kKinds> retries_;
  std::deque<metrics::Histogram> success_duration_;  // per kind
  mutable std::mutex errors_mu_;
  std::map<std::pair<ApiKind, std::string>, uint64_t> errors_;
};

}  // namespace dpserve::router
