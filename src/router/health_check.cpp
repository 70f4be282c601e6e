#include "router/health_check.h"

#include "common/http/client.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace dpserve::router {

namespace {

std::chrono::milliseconds to_millis(double secs) {
  return std::chrono::milliseconds(static_cast<int64_t>(secs * 1000.0 + 0.5));
}

void log_probe_failure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("router: health probe failed: {}", e.what());
  }
}

}  // namespace

net::awaitable<void> HealthChecker::run() {
  auto executor = co_await net::this_coro::executor;
  net::steady_timer timer(executor);
  const auto interval = to_millis(config_.interval_secs);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(http::kUse);
    if (ec) co_return;
    probe_all(executor);
  }
}

void HealthChecker::probe_all(const net::any_io_executor& executor) {
  auto snapshot = registry_.shared();
  // Ranks of one --dp-aware URL share one server: probe it once and apply to all of them.
  std::map<std::string, std::vector<EntryPtr>> by_url;
  for (const auto& entry : snapshot->entries) by_url[entry->base_url].push_back(entry);
  for (auto it = streaks_.begin(); it != streaks_.end();) {
    it = by_url.contains(it->first) ? std::next(it) : streaks_.erase(it);
  }
  for (auto& [url, entries] : by_url) {
    if (!outstanding_.insert(url).second) continue;
    net::co_spawn(executor, probe(shared_from_this(), url, std::move(entries)), log_probe_failure);
  }
}

net::awaitable<void> HealthChecker::probe(std::shared_ptr<HealthChecker> self, std::string base_url,
                                          std::vector<EntryPtr> entries) {
  auto result =
      co_await http::fetch(entries.front()->endpoint, http::bhttp::verb::get, config_.endpoint, "",
                           api_key_, to_millis(config_.timeout_secs));
  self->outstanding_.erase(base_url);
  bool ok = !result.ec && result.status >= 200 && result.status < 300;
  std::string why = result.ec ? result.ec.message() : "status " + std::to_string(result.status);
  record(base_url, entries, ok, why);
}

bool HealthChecker::record(const std::string& base_url, const std::vector<EntryPtr>& entries,
                           bool ok, const std::string& why) {
  if (entries.empty()) return false;
  Streak& streak = streaks_[base_url];
  if (ok) {
    streak.failures = 0;
    ++streak.successes;
  } else {
    streak.successes = 0;
    ++streak.failures;
  }
  bool healthy = entries.front()->worker->healthy();
  if (healthy && streak.failures >= config_.failure_threshold) {
    for (const auto& entry : entries) entry->worker->set_healthy(false);
    spdlog::warn("router: worker {} is unhealthy after {} failed {} probe(s) (last: {})", base_url,
                 streak.failures, config_.endpoint, why);
    return true;
  }
  if (!healthy && streak.successes >= config_.success_threshold) {
    for (const auto& entry : entries) entry->worker->set_healthy(true);
    spdlog::info("router: worker {} is healthy again after {} good probe(s)", base_url,
                 streak.successes);
    return true;
  }
  return false;
}

}  // namespace dpserve::router
