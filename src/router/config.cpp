#include "router/config.h"

#include "common/http/url.h"
#include "common/logging.h"
#include "router/policies/factory.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace dpserve::router {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

template <typename Fail>
void validate_health(const HealthCheckConfig& health, Fail fail) {
  // A day bounds the period so the millisecond conversion cannot overflow.
  constexpr double kMaxSecs = 86400;
  auto check_secs = [&](const char* flag, double value) {
    if (!(value > 0) || value > kMaxSecs) {
      fail(std::string(flag) + " must be > 0 and <= 86400 seconds, got " + std::to_string(value));
    }
    if (value < 0.001) fail(std::string(flag) + " must be at least 0.001 seconds");
  };
  check_secs("--health-check-interval-secs", health.interval_secs);
  check_secs("--health-check-timeout-secs", health.timeout_secs);
  if (health.failure_threshold < 1) {
    fail("--health-failure-threshold must be >= 1, got " +
         std::to_string(health.failure_threshold));
  }
  if (health.success_threshold < 1) {
    fail("--health-success-threshold must be >= 1, got " +
         std::to_string(health.success_threshold));
  }
  const auto& path = health.endpoint;
  if (path.empty() || path[0] != '/' ||
      std::any_of(path.begin(), path.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
    fail(
        "--health-check-endpoint must be a path starting with '/' without spaces or control "
        "characters, got '" +
        path + "'");
  }
}

// Checks that CLI11 cannot express; throws std::invalid_argument naming the flag.
void validate(RouterConfig& config) {
  auto fail = [](std::string message) { throw std::invalid_argument(std::move(message)); };
  if (config.port < 0 || config.port > 65535) {
    fail("--port must be within [0, 65535], got " + std::to_string(config.port));
  }
  if (config.request_timeout_secs <= 0) {
    fail("--request-timeout-secs must be > 0, got " + std::to_string(config.request_timeout_secs));
  }
  if (config.max_payload_size <= 0) {
    fail("--max-payload-size must be > 0 bytes, got " + std::to_string(config.max_payload_size));
  }
  if (config.worker_startup_timeout_secs <= 0) {
    fail("--worker-startup-timeout-secs must be > 0, got " +
         std::to_string(config.worker_startup_timeout_secs));
  }
  if (config.threads < 0 || config.threads > 1024) {
    fail("--threads must be within [0, 1024], got " + std::to_string(config.threads));
  }
  if (!common::parse_log_level(config.log_level)) {
    fail("--log-level must be one of debug, info, warn, error, got '" + config.log_level + "'");
  }
  if (config.api_key.find_first_of("\r\n") != std::string::npos) {
    fail("--api-key must not contain line breaks");
  }
  for (const auto& url : config.worker_urls) {
    std::string error;
    if (!http::parse_endpoint(url, error)) fail("--worker-urls: " + error);
  }
  validate_health(config.health, fail);
  if (!(config.shutdown_grace_period_secs >= 0) || config.shutdown_grace_period_secs > 86400) {
    fail("--shutdown-grace-period-secs must be within [0, 86400], got " +
         std::to_string(config.shutdown_grace_period_secs));
  }
  if (config.prometheus_port < -1 || config.prometheus_port > 65535) {
    fail(
        "--prometheus-port must be within [0, 65535] (0 picks a free one; -1, the default, is "
        "none), got " +
        std::to_string(config.prometheus_port));
  }
  if (config.prometheus_port >= 0 && config.prometheus_port == config.port && config.port != 0) {
    fail("--prometheus-port must differ from --port (" + std::to_string(config.port) + ")");
  }
  const auto& buckets = config.prometheus_duration_buckets;
  if (buckets.empty()) fail("--prometheus-duration-buckets needs at least one bound");
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!(buckets[i] > 0) || buckets[i] > 1e9 || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
      fail("--prometheus-duration-buckets must be positive, finite and strictly increasing");
    }
  }
  auto names = policy_names();
  if (std::find(names.begin(), names.end(), config.policy.name) == names.end()) {
    fail("--policy must be one of " + join(names) + ", got '" + config.policy.name + "'");
  }
  try {
    // Builds the policy once so its own parameter checks run now, not on the first request.
    make_policy(config.policy);
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (message.rfind("--", 0) != 0) message = "--policy " + config.policy.name + ": " + message;
    fail(message);
  }
  if (config.threads == 0) {
    config.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

}  // namespace

ParseOutcome parse_router_config(int argc, char** argv, RouterConfig& config) {
  CLI::App app{"dpserve router: an HTTP gateway that spreads requests over inference workers",
               "dpserve router"};
  app.option_defaults()->always_capture_default();
  app.add_option("--host", config.host, "Address to listen on");
  app.add_option("--port", config.port, "Port to listen on (0 picks a free one)");
  app.add_option("--worker-urls", config.worker_urls, "Worker base URLs (http://host:port ...)");
  app.add_option("--policy", config.policy.name, "Load-balancing policy: " + join(policy_names()));
  app.add_option("--cache-threshold", config.policy.cache_threshold,
                 "cache_aware: minimum prefix-match ratio in [0, 1]");
  app.add_option("--balance-abs-threshold", config.policy.balance_abs_threshold,
                 "cache_aware/bucket: absolute load gap that counts as imbalance");
  app.add_option("--balance-rel-threshold", config.policy.balance_rel_threshold,
                 "cache_aware/bucket: relative load gap (>= 1) that counts as imbalance");
  app.add_option("--eviction-interval-secs", config.policy.eviction_interval_secs,
                 "cache_aware: seconds between tree eviction sweeps");
  app.add_option("--max-tree-size", config.policy.max_tree_size,
                 "cache_aware: characters kept per worker in the prefix tree");
  app.add_option("--bucket-adjust-interval-secs", config.policy.bucket_adjust_interval_secs,
                 "bucket: seconds between range re-cuts");
  app.add_option("--request-timeout-secs", config.request_timeout_secs,
                 "Total time allowed for one upstream request, streams included");
  app.add_option("--max-payload-size", config.max_payload_size,
                 "Largest request body in bytes (413 above it)");
  app.add_option("--api-key", config.api_key, "Bearer key clients must send; also sent to workers");
  app.add_flag("--dp-aware", config.dp_aware,
               "One logical worker per DP rank of each worker (rank spliced into bodies)");
  app.add_option("--log-level", config.log_level, "debug, info, warn or error");
  app.add_option("--threads", config.threads, "IO threads (0 = one per core)");
  app.add_option("--worker-startup-timeout-secs", config.worker_startup_timeout_secs,
                 "How long registration waits for a worker's /health to answer");
  app.add_option("--health-check-interval-secs", config.health.interval_secs,
                 "Seconds between active health probes of every worker (fractional allowed)");
  app.add_option("--health-check-timeout-secs", config.health.timeout_secs,
                 "Timeout of one health probe in seconds");
  app.add_option("--health-failure-threshold", config.health.failure_threshold,
                 "Consecutive failed probes that mark a worker unhealthy");
  app.add_option("--health-success-threshold", config.health.success_threshold,
                 "Consecutive good probes that mark an unhealthy worker healthy again");
  app.add_option("--health-check-endpoint", config.health.endpoint,
                 "Path probed on each worker (2xx = healthy)");
  app.add_flag("--disable-health-check", config.health.disabled,
               "No active probing; workers are always considered healthy");
  app.add_option("--shutdown-grace-period-secs", config.shutdown_grace_period_secs,
                 "On SIGTERM/SIGINT, how long requests in flight may take to finish (new "
                 "connections are refused meanwhile); a second signal stops at once");
  app.add_option("--prometheus-host", config.prometheus_host, "Address of the metrics listener");
  app.add_option("--prometheus-port", config.prometheus_port,
                 "Port of a separate listener serving GET /metrics without the API key "
                 "(0 picks a free one; unset: none, /metrics is served on --port only)");
  app.add_option("--prometheus-duration-buckets", config.prometheus_duration_buckets,
                 "Upper bounds in seconds of every *_duration_seconds histogram");
  ParseOutcome outcome;
  try {
    app.parse(argc, argv);
    validate(config);
  } catch (const CLI::CallForHelp&) {
    outcome.message = app.help();
    return outcome;
  } catch (const CLI::ParseError& e) {
    outcome.exit_code = 2;
    outcome.message = std::string("dpserve router: ") + e.what();
    return outcome;
  } catch (const std::invalid_argument& e) {
    outcome.exit_code = 2;
    outcome.message = std::string("dpserve router: ") + e.what();
    return outcome;
  }
  outcome.run = true;
  return outcome;
}

}  // namespace dpserve::router
