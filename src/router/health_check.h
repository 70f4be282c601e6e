// Active health checks (router-spec.md 4): one loop probes every registered base URL each
// interval; consecutive failures mark its workers unhealthy (skipped by routing, kept in the
// registry and the policies' trees), consecutive successes bring them back.
#pragma once

#include "common/http/beast.h"
#include "router/config.h"
#include "router/registry.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace dpserve::router {

namespace net = http::net;

class HealthChecker : public std::enable_shared_from_this<HealthChecker> {
 public:
  HealthChecker(HealthCheckConfig config, WorkerRegistry& registry, std::string api_key)
      : config_(std::move(config)), registry_(registry), api_key_(std::move(api_key)) {}

  // Probes forever on the calling coroutine's executor, which must be single-threaded (the probe
  // bookkeeping is not locked). Keep the checker in a shared_ptr: in-flight probes hold it.
  net::awaitable<void> run();

  // Feeds one probe outcome for `base_url` into its streak and flips the health of `entries`
  // (all ranks of that URL) when a threshold is reached. Returns true on a transition.
  bool record(const std::string& base_url, const std::vector<EntryPtr>& entries, bool ok,
              const std::string& why);

 private:
  struct Streak {
    int failures = 0;
    int successes = 0;
  };

  // Starts one probe per registered base URL that has none outstanding.
  void probe_all(const net::any_io_executor& executor);
  net::awaitable<void> probe(std::shared_ptr<HealthChecker> self, std::string base_url,
                             std::vector<EntryPtr> entries);

  const HealthCheckConfig config_;
  WorkerRegistry& registry_;
  const std::string api_key_;
  std::map<std::string, Streak> streaks_;
  // A probe slower than the interval is not doubled up (timeout may exceed interval).
  std::set<std::string> outstanding_;
};

}  // namespace dpserve::router
