// `dpserve router` configuration: every flag, parsed with CLI11 and validated at start-up with an
// error that names the flag.
#pragma once

#include "common/metrics.h"
#include "router/policy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dpserve::router {

// Active health checks (router-spec.md 4). Seconds are fractional so tests can probe quickly.
struct HealthCheckConfig {
  double interval_secs = 60;
  double timeout_secs = 5;
  int failure_threshold = 3;  // consecutive failed probes that mark a worker unhealthy
  int success_threshold = 2;  // consecutive good probes that mark it healthy again
  std::string endpoint = "/health";
  bool disabled = false;  // no probing; workers stay healthy
};

struct RouterConfig {
  std::string host = "127.0.0.1";
  int port = 30000;
  std::vector<std::string> worker_urls;
  PolicyConfig policy;
  int64_t request_timeout_secs = 1800;
  int64_t max_payload_size = int64_t{512} << 20;
  std::string api_key;
  bool dp_aware = false;
  std::string log_level = "info";
  int threads = 0;  // 0 = one per core
  int64_t worker_startup_timeout_secs = 1800;
  // On SIGTERM/SIGINT: stop accepting, let requests in flight finish for up to this long.
  double shutdown_grace_period_secs = 180;
  HealthCheckConfig health;
  // Prometheus listener (GET /metrics); -1 = none (the main port serves /metrics as well).
  std::string prometheus_host = "127.0.0.1";
  int prometheus_port = -1;
  std::vector<double> prometheus_duration_buckets = metrics::default_duration_buckets();
};

struct ParseOutcome {
  bool run = false;  // false: exit with `exit_code` after printing `message`
  int exit_code = 0;
  std::string message;  // help text or the error
};

// argv[0] is the subcommand name.
ParseOutcome parse_router_config(int argc, char** argv, RouterConfig& config);

}  // namespace dpserve::router
