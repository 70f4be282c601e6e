#include "router/metrics.h"

#include "router/policy.h"

#include <map>

namespace dpserve::router {

namespace {

constexpr std::string_view kKindNames[] = {"generate", "completions", "chat", "embeddings"};

size_t kind_index(ApiKind kind) { return static_cast<size_t>(kind); }

// Appending instead of operator+ chains, which trip GCC 12's -Wrestrict false positive.
std::string labels(std::string first, std::string_view second) {
  first += ',';
  first += second;
  return first;
}

}  // namespace

RouterMetrics::RouterMetrics(std::vector<RouteName> routes, std::vector<double> duration_buckets)
    : buckets_(std::move(duration_buckets)) {
  for (auto& name : routes) {
    routes_.emplace_back(std::move(name), buckets_);
  }
  for (size_t i = 0; i < kKinds; ++i) success_duration_.emplace_back(buckets_);
}

void RouterMetrics::record_http(size_t route, unsigned status, double seconds) {
  if (route < routes_.size()) {
    routes_[route].requests.inc();
    routes_[route].duration.observe(seconds);
  }
  responses_[status < kStatuses ? status : 0].inc();
}

void RouterMetrics::record_request(ApiKind kind, bool stream) {
  requests_[kind_index(kind)][stream ? 1 : 0].inc();
}

void RouterMetrics::record_success(ApiKind kind, double seconds) {
  success_duration_[kind_index(kind)].observe(seconds);
}

void RouterMetrics::record_error(ApiKind kind, std::string_view error_type) {
  std::lock_guard lock(errors_mu_);
  ++errors_[{kind, std::string(error_type)}];
}

void RouterMetrics::record_retry(ApiKind kind) { retries_[kind_index(kind)].inc(); }

void RouterMetrics::record_upstream_status(unsigned status) {
  upstream_responses_[status < kStatuses ? status : 0].inc();
}

std::string RouterMetrics::render(const RegistrySnapshot& snapshot, const Policy& policy) const {
  using metrics::label;
  metrics::TextWriter w;

  w.family("smg_http_requests_total", "counter", "HTTP requests answered, by method and route");
  for (const auto& r : routes_) {
    if (r.requests.value() == 0) continue;
    w.sample("smg_http_requests_total",
             labels(label("method", r.name.method), label("path", r.name.path)),
             static_cast<double>(r.requests.value()));
  }
  w.family("smg_http_request_duration_seconds", "histogram",
           "Time from request read to response end, by method and route");
  for (const auto& r : routes_) {
    if (r.requests.value() == 0) continue;
    w.histogram("smg_http_request_duration_seconds",
                labels(label("method", r.name.method), label("path", r.name.path)), r.duration);
  }
  w.family("smg_http_responses_total", "counter",
           "HTTP responses by status code (0: the client left before any response)");
  for (size_t s = 0; s < kStatuses; ++s) {
    if (responses_[s].value() == 0) continue;
    w.sample("smg_http_responses_total", label("status_code", std::to_string(s)),
             static_cast<double>(responses_[s].value()));
  }
  w.family("smg_http_connections_active", "gauge", "Open client connections");
  w.sample("smg_http_connections_active", "",
           static_cast<double>(active_connections_.load(std::memory_order_relaxed)));

  w.family("smg_router_requests_total", "counter", "Inference requests by endpoint and streaming");
  for (size_t k = 0; k < kKinds; ++k) {
    for (size_t s = 0; s < 2; ++s) {
      if (requests_[k][s].value() == 0) continue;
      w.sample("smg_router_requests_total",
               labels(label("endpoint", kKindNames[k]), label("streaming", s ? "true" : "false")),
               static_cast<double>(requests_[k][s].value()));
    }
  }
  w.family("smg_router_request_duration_seconds", "histogram",
           "Duration of successful inference requests (response fully relayed), by endpoint");
  for (size_t k = 0; k < kKinds; ++k) {
    w.histogram("smg_router_request_duration_seconds", label("endpoint", kKindNames[k]),
                success_duration_[k]);
  }
  w.family("smg_router_request_errors_total", "counter",
           "Inference requests that ended in an error, by endpoint and error type");
  {
    std::lock_guard lock(errors_mu_);
    for (const auto& [key, n] : errors_) {
      w.sample("smg_router_request_errors_total",
               labels(label("endpoint", kKindNames[kind_index(key.first)]),
                      label("error_type", key.second)),
               static_cast<double>(n));
    }
  }
  w.family("smg_router_upstream_responses_total", "counter",
           "Worker response heads by status code, one per attempt");
  for (size_t s = 0; s < kStatuses; ++s) {
    if (upstream_responses_[s].value() == 0) continue;
    w.sample("smg_router_upstream_responses_total", label("status_code", std::to_string(s)),
             static_cast<double>(upstream_responses_[s].value()));
  }
  w.family("smg_worker_retries_total", "counter",
           "Attempts sent to another worker after one failed before any response byte");
  for (size_t k = 0; k < kKinds; ++k) {
    w.sample("smg_worker_retries_total", label("endpoint", kKindNames[k]),
             static_cast<double>(retries_[k].value()));
  }

  w.family("smg_worker_pool_size", "gauge", "Registered (logical) workers per model");
  for (const auto& group : snapshot.groups) {
    w.sample("smg_worker_pool_size", label("model", group.model),
             static_cast<double>(group.workers.size()));
  }
  const auto policy_label = label("policy", policy.name());
  auto per_worker = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto value) {
    w.family(name, type, help);
    for (const auto& entry : snapshot.entries) {
      w.sample(name, label("worker", entry->worker->url()), value(*entry->worker));
    }
  };
  per_worker("smg_worker_health", "gauge", "1 if the worker is healthy, 0 if not",
             [](const Worker& worker) { return worker.healthy() ? 1.0 : 0.0; });
  per_worker("smg_worker_requests_active", "gauge", "Requests in flight on the worker",
             [](const Worker& worker) { return static_cast<double>(worker.in_flight_requests()); });
  per_worker("smg_worker_prompt_units_active", "gauge",
             "Prompt size in flight on the worker (characters of routing text, or token ids)",
             [](const Worker& worker) { return static_cast<double>(worker.in_flight_tokens()); });
  w.family("smg_worker_selection_total", "counter",
           "Times the policy picked the worker (retries included)");
  for (const auto& entry : snapshot.entries) {
    w.sample("smg_worker_selection_total",
             labels(label("worker", entry->worker->url()), policy_label),
             static_cast<double>(entry->worker->selections()));
  }

  for (const auto& family : policy.metrics()) {
    w.family(family.name, family.type, family.help);
    for (const auto& sample : family.samples) {
      const std::string set =
          sample.label_name.empty()
              ? policy_label
              : labels(policy_label, label(sample.label_name, sample.label_value));
      w.sample(family.name, set, sample.value);
    }
  }
  return w.take();
}

}  // namespace dpserve::router
