// `dpserve serve` flags. Three kinds share one command line, as in sglang_router.launch_server:
// serve's own (--dp-size, --host, --port, --router-dp-worker-base-port, supervision), every
// `dpserve engine` flag (passed to each worker), and every `dpserve router` flag with a --router-
// prefix (plus --health-check-interval-secs), passed to the router without the prefix.
#pragma once

#include <string>
#include <vector>

namespace dpserve::launcher {

struct ServeConfig {
  int dp_size = 1;
  std::string host = "127.0.0.1";  // the router's address; workers listen on worker_host
  int port = 30000;
  std::string worker_host = "127.0.0.1";
  int worker_base_port = 31000;
  std::string model_path;  // empty: the default tiny model
  int tp_size = 1;
  double worker_startup_timeout_secs = 600;
  double restart_backoff_initial_secs = 1;
  double restart_backoff_max_secs = 30;
  std::vector<std::string> engine_args;  // passed to every worker, as given
  std::vector<std::string> router_args;  // passed to the router, prefix removed
};

struct ServeParse {
  bool run = false;
  int exit_code = 0;
  std::string message;
};

// argv[0] is the subcommand name. Engine and router flags are validated with their own parsers,
// so a bad flag fails here, before any process starts.
ServeParse parse_serve_config(int argc, char** argv, ServeConfig& config);

}  // namespace dpserve::launcher
