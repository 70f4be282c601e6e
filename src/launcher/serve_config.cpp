#include "launcher/serve_config.h"

#include "engine/api/engine_options.h"
#include "router/config.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <stdexcept>

namespace dpserve::launcher {

namespace {

constexpr const char* kRouterPrefix = "--router-";

bool is_flag(const std::string& token) { return token.size() > 2 && token.rfind("--", 0) == 0; }

// "--name=value" -> ("--name", "value"); "--name" -> ("--name", "").
std::pair<std::string, std::string> split_eq(const std::string& token) {
  auto eq = token.find('=');
  if (eq == std::string::npos) return {token, ""};
  return {token.substr(0, eq), token.substr(eq + 1)};
}

std::vector<char*> as_argv(const std::string& name, std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(name.c_str()));
  for (auto& arg : args) argv.push_back(arg.data());
  return argv;
}

std::string help_text(const std::string& serve_help) {
  return serve_help +
         "\nEvery `dpserve engine` flag is accepted and passed to each worker (see 'dpserve engine "
         "--help').\nEvery `dpserve router` flag is accepted with a --router- prefix, e.g. "
         "--router-policy cache_aware,\n--router-cache-threshold 0.5 (see 'dpserve router "
         "--help'); --health-check-interval-secs goes to the router too.\n";
}

}  // namespace

ServeParse parse_serve_config(int argc, char** argv, ServeConfig& config) {
  // Pass 1: route each flag (and the values after it) to serve, the router or the engine.
  std::vector<std::string> serve_args;
  std::vector<std::string>* target = nullptr;
  bool help = false;
  const std::vector<std::string> serve_flags = {"--dp-size",
                                                "--host",
                                                "--port",
                                                "--router-dp-worker-base-port",
                                                "--worker-host",
                                                "--worker-startup-timeout-secs",
                                                "--worker-restart-backoff-secs",
                                                "--worker-restart-max-backoff-secs",
                                                "--model-path",
                                                "--tp-size",
                                                "--tp"};
  for (int i = 1; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "-h" || token == "--help") {
      help = true;
      continue;
    }
    if (!is_flag(token)) {
      if (!target) return {false, 2, "dpserve serve: unexpected argument '" + token + "'"};
      target->push_back(token);
      continue;
    }
    auto name = split_eq(token).first;
    bool own = std::find(serve_flags.begin(), serve_flags.end(), name) != serve_flags.end();
    if (own) {
      target = &serve_args;
      // --model-path and --tp-size are also engine flags: serve reads them and passes them on.
      target->push_back(token);
    } else if (name.rfind(kRouterPrefix, 0) == 0) {
      if (name == "--router-worker-urls" || name == "--router-host" || name == "--router-port") {
        return {false, 2,
                "dpserve serve: " + name +
                    " is set by serve itself (use --host/--port for the router address)"};
      }
      target = &config.router_args;
      target->push_back("--" + token.substr(std::string(kRouterPrefix).size()));
    } else if (name == "--health-check-interval-secs") {
      target = &config.router_args;
      target->push_back(token);
    } else {
      target = &config.engine_args;
      target->push_back(token);
    }
  }

  CLI::App app{"dpserve serve: N engine workers plus the router in front of them, supervised",
               "dpserve serve"};
  app.set_help_flag();
  app.option_defaults()->always_capture_default();
  app.add_option("--dp-size", config.dp_size, "Engine worker processes (each with --dp-size 1)");
  app.add_option("--host", config.host, "Address the router listens on");
  app.add_option("--port", config.port, "Port the router listens on (0 picks a free one)");
  app.add_option("--router-dp-worker-base-port", config.worker_base_port,
                 "First worker port; busy ports are skipped");
  app.add_option("--worker-host", config.worker_host, "Address the workers listen on");
  app.add_option("--worker-startup-timeout-secs", config.worker_startup_timeout_secs,
                 "How long to wait for a worker's /health before giving up");
  app.add_option("--worker-restart-backoff-secs", config.restart_backoff_initial_secs,
                 "First delay before restarting a worker that died (doubles each time)");
  app.add_option("--worker-restart-max-backoff-secs", config.restart_backoff_max_secs,
                 "Largest restart delay");
  app.add_option("--model-path", config.model_path,
                 "Checkpoint folder (default: the tiny model, created once in the cache folder)");
  app.add_option("--tp-size,--tp", config.tp_size, "Tensor parallelism of each worker");
  if (help) return {false, 0, help_text(app.help())};
  try {
    auto serve_argv = as_argv("serve", serve_args);
    app.parse(static_cast<int>(serve_argv.size()), serve_argv.data());
    if (config.dp_size < 1 || config.dp_size > 256) {
      throw std::invalid_argument("--dp-size must be within [1, 256], got " +
                                  std::to_string(config.dp_size));
    }
    if (config.port < 0 || config.port > 65535) {
      throw std::invalid_argument("--port must be within [0, 65535]");
    }
    if (config.worker_base_port < 1 || config.worker_base_port > 65535) {
      throw std::invalid_argument("--router-dp-worker-base-port must be within [1, 65535]");
    }
    if (!(config.worker_startup_timeout_secs > 0)) {
      throw std::invalid_argument("--worker-startup-timeout-secs must be > 0");
    }
    if (!(config.restart_backoff_initial_secs > 0) ||
        config.restart_backoff_max_secs < config.restart_backoff_initial_secs) {
      throw std::invalid_argument(
          "--worker-restart-backoff-secs must be > 0 and <= --worker-restart-max-backoff-secs");
    }
  } catch (const CLI::ParseError& e) {
    return {false, 2, std::string("dpserve serve: ") + e.what()};
  } catch (const std::invalid_argument& e) {
    return {false, 2, std::string("dpserve serve: ") + e.what()};
  }

  // Engine flags: the engine's own parser and checks, as a worker would see them.
  {
    engine::EngineOptions engine_options;
    CLI::App engine_app{"engine", "dpserve engine"};
    engine::add_engine_flags(engine_app, engine_options);
    std::vector<std::string> args = config.engine_args;
    if (!config.model_path.empty()) args.insert(args.end(), {"--model-path", config.model_path});
    args.insert(args.end(), {"--tp-size", std::to_string(config.tp_size)});
    auto engine_argv = as_argv("engine", args);
    try {
      engine_app.parse(static_cast<int>(engine_argv.size()), engine_argv.data());
    } catch (const CLI::ParseError& e) {
      return {false, 2,
              std::string("dpserve serve: ") + e.what() +
                  " (not a serve or engine flag; router flags take the --router- prefix)"};
    }
    if (auto error = engine::validate_engine_options(engine_options); !error.empty()) {
      return {false, 2, "dpserve serve: " + error};
    }
  }

  // Router flags: the router's parser, with the address and a placeholder worker list serve fills.
  {
    router::RouterConfig router_config;
    std::vector<std::string> args = {"--host", config.host, "--port", std::to_string(config.port)};
    args.insert(args.end(), config.router_args.begin(), config.router_args.end());
    auto router_argv = as_argv("router", args);
    auto outcome = router::parse_router_config(static_cast<int>(router_argv.size()),
                                               router_argv.data(), router_config);
    if (!outcome.run) {
      std::string message = outcome.message;
      // Speak in serve's terms: the user wrote --router-X.
      auto at = message.find("dpserve router: ");
      if (at != std::string::npos) message.replace(at, 16, "");
      return {false, 2, "dpserve serve: router flag: " + message};
    }
  }
  return {true, 0, ""};
}

}  // namespace dpserve::launcher
