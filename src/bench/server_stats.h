// What the server side says about a run: the workers behind the router (its /workers list), their
// Prometheus counters before and after, and from those the cache hit rate and per-worker share.
#pragma once

#include "bench/bench_options.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dpserve::bench {

// One worker's counters at one moment (nullopt: the metric is not exported).
struct WorkerCounters {
  std::string url;
  bool reachable = false;
  std::optional<double> prompt_tokens;
  std::optional<double> cached_tokens;
  std::optional<double> requests;
  std::optional<double> hit_rate_gauge;
};

struct ServerSnapshot {
  std::vector<WorkerCounters> workers;
};

struct WorkerShare {
  std::string url;
  double requests = 0;
  double share = 0;
};

struct ServerStats {
  std::optional<double> cache_hit_rate;
  std::string cache_hit_source;  // which metrics gave it
  std::vector<WorkerShare> workers;
  std::string share_source;
};

// Blocking HTTP helpers against options.base_url and the workers. Failures are not fatal: a bench
// against a server without these endpoints still runs.
class ServerProbe {
 public:
  explicit ServerProbe(const BenchOptions& options);

  // The router's workers (GET /workers, then /list_workers); the target itself when it is not a
  // router. DP ranks of one worker ("url@rank") count once.
  void discover_workers();
  const std::vector<std::string>& worker_urls() const { return worker_urls_; }
  // The first model id of GET /v1/models, or "".
  std::string default_model();
  // POST /flush_cache; false with `error` set when it fails.
  bool flush_cache(std::string& error);
  ServerSnapshot snapshot();

 private:
  const BenchOptions& options_;
  std::vector<std::string> worker_urls_;
};

// Counter deltas into a hit rate (cached / prompt tokens) and request shares.
ServerStats diff_snapshots(const ServerSnapshot& before, const ServerSnapshot& after);

}  // namespace dpserve::bench
