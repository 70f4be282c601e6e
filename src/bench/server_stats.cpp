#include "bench/server_stats.h"

#include "bench/prometheus.h"
#include "common/http/beast.h"
#include "common/http/client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

namespace dpserve::bench {

namespace {

using nlohmann::json;

constexpr std::chrono::seconds kTimeout{10};

http::FetchResult blocking_fetch(const std::string& base_url, http::bhttp::verb method,
                                 const std::string& target, const std::string& api_key,
                                 std::string body = "") {
  http::FetchResult result;
  std::string error;
  auto endpoint = http::parse_endpoint(base_url, error);
  if (!endpoint) {
    result.ec = http::error_code(EINVAL, boost::system::generic_category());
    return result;
  }
  http::net::io_context io;
  http::net::co_spawn(
      io,
      [&]() -> http::net::awaitable<void> {
        result =
            co_await http::fetch(*endpoint, method, target, std::move(body), api_key,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(kTimeout));
      },
      http::net::detached);
  io.run();
  // Pooled connections belong to this io_context: none may outlive it.
  http::ConnectionPool::local().forget(*endpoint);
  return result;
}

// "http://h:p@3" (one DP rank under --dp-aware) -> "http://h:p".
std::string strip_rank(std::string url) {
  auto at = url.rfind('@');
  auto scheme = url.find("://");
  if (at != std::string::npos && scheme != std::string::npos && at > scheme) url.resize(at);
  return url;
}

std::optional<double> first_of(const std::vector<Sample>& samples,
                               std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    if (auto value = metric_sum(samples, name)) return value;
  }
  return std::nullopt;
}

std::optional<double> delta(const std::optional<double>& before,
                            const std::optional<double>& after) {
  if (!before || !after) return std::nullopt;
  return std::max(0.0, *after - *before);
}

}  // namespace

ServerProbe::ServerProbe(const BenchOptions& options) : options_(options) {}

void ServerProbe::discover_workers() {
  worker_urls_.clear();
  std::set<std::string> seen;
  auto add = [&](std::string url) {
    url = strip_rank(std::move(url));
    if (seen.insert(url).second) worker_urls_.push_back(url);
  };
  auto workers =
      blocking_fetch(options_.base_url, http::bhttp::verb::get, "/workers", options_.api_key);
  if (!workers.ec && workers.status == 200) {
    auto body = json::parse(workers.body, nullptr, false);
    if (body.is_object() && body.contains("workers") && body["workers"].is_array()) {
      for (const auto& worker : body["workers"]) {
        if (worker.is_object() && worker.contains("url") && worker["url"].is_string()) {
          add(worker["url"].get<std::string>());
        }
      }
    }
  }
  if (worker_urls_.empty()) {
    auto list = blocking_fetch(options_.base_url, http::bhttp::verb::get, "/list_workers",
                               options_.api_key);
    auto body = json::parse(list.body, nullptr, false);
    if (!list.ec && list.status == 200 && body.is_object() && body.contains("urls") &&
        body["urls"].is_array()) {
      for (const auto& url : body["urls"]) {
        if (url.is_string()) add(url.get<std::string>());
      }
    }
  }
  if (worker_urls_.empty()) worker_urls_.push_back(options_.base_url);
}

std::string ServerProbe::default_model() {
  auto models =
      blocking_fetch(options_.base_url, http::bhttp::verb::get, "/v1/models", options_.api_key);
  if (models.ec || models.status != 200) return "";
  auto body = json::parse(models.body, nullptr, false);
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array() ||
      body["data"].empty()) {
    return "";
  }
  const auto& first = body["data"][0];
  return first.is_object() && first.contains("id") && first["id"].is_string()
             ? first["id"].get<std::string>()
             : "";
}

bool ServerProbe::flush_cache(std::string& error) {
  auto result =
      blocking_fetch(options_.base_url, http::bhttp::verb::post, "/flush_cache", options_.api_key);
  if (result.ec) {
    error = result.ec.message();
    return false;
  }
  if (result.status != 200) {
    error = "HTTP " + std::to_string(result.status) + ": " + result.body.substr(0, 200);
    return false;
  }
  return true;
}

ServerSnapshot ServerProbe::snapshot() {
  ServerSnapshot snapshot;
  for (const auto& url : worker_urls_) {
    WorkerCounters counters;
    counters.url = url;
    auto metrics = blocking_fetch(url, http::bhttp::verb::get, "/metrics", options_.api_key);
    if (!metrics.ec && metrics.status == 200) {
      counters.reachable = true;
      auto samples = parse_prometheus(metrics.body);
      counters.prompt_tokens = first_of(samples, {"sglang:prompt_tokens_total"});
      counters.cached_tokens = first_of(samples, {"sglang:cached_tokens_total"});
      counters.requests = first_of(
          samples, {"sglang:num_requests_total", "sglang:e2e_request_latency_seconds_count"});
      counters.hit_rate_gauge = first_of(samples, {"sglang:cache_hit_rate"});
    }
    snapshot.workers.push_back(std::move(counters));
  }
  return snapshot;
}

ServerStats diff_snapshots(const ServerSnapshot& before, const ServerSnapshot& after) {
  ServerStats stats;
  double prompt = 0;
  double cached = 0;
  bool counters = !after.workers.empty();
  double total_requests = 0;
  bool requests_known = !after.workers.empty();
  for (size_t i = 0; i < after.workers.size() && i < before.workers.size(); ++i) {
    const auto& a = after.workers[i];
    const auto& b = before.workers[i];
    auto p = delta(b.prompt_tokens, a.prompt_tokens);
    auto c = delta(b.cached_tokens, a.cached_tokens);
    if (p && c) {
      prompt += *p;
      cached += *c;
    } else {
      counters = false;
    }
    WorkerShare share;
    share.url = a.url;
    if (auto r = delta(b.requests, a.requests)) {
      share.requests = *r;
    } else if (p) {
      share.requests = *p;  // token share when no request counter is exported
      requests_known = false;
    } else {
      requests_known = false;
    }
    total_requests += share.requests;
    stats.workers.push_back(share);
  }
  if (counters && prompt > 0) {
    stats.cache_hit_rate = cached / prompt;
    stats.cache_hit_source = "sglang:cached_tokens_total / sglang:prompt_tokens_total";
  } else {
    // The gauge covers only recent batches: a fallback, averaged over workers.
    double sum = 0;
    int n = 0;
    for (const auto& worker : after.workers) {
      if (worker.hit_rate_gauge) {
        sum += *worker.hit_rate_gauge;
        ++n;
      }
    }
    if (n > 0) {
      stats.cache_hit_rate = sum / n;
      stats.cache_hit_source = "sglang:cache_hit_rate (gauge, mean over workers)";
    }
  }
  if (total_requests > 0) {
    for (auto& worker : stats.workers) worker.share = worker.requests / total_requests;
    stats.share_source = requests_known ? "requests (worker metrics)" : "prompt tokens";
  } else {
    stats.workers.clear();
  }
  return stats;
}

}  // namespace dpserve::bench
