#include "launcher/serve_main.h"

#include "engine/api/default_model.h"
#include "launcher/serve_config.h"
#include "launcher/supervisor.h"

#include <climits>

#include <cstdio>
#include <exception>
#include <signal.h>
#include <string>
#include <unistd.h>

namespace dpserve::launcher {

namespace {

std::string self_executable() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace

int serve_main(int argc, char** argv) {
  ServeConfig config;
  auto parsed = parse_serve_config(argc, argv, config);
  if (!parsed.run) {
    std::fprintf(parsed.exit_code == 0 ? stdout : stderr, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  // Blocked before any child exists: the supervisor takes them synchronously with sigtimedwait,
  // so a signal can never interrupt a half-done start or stop.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGCHLD}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string self = self_executable();
  if (self.empty()) {
    std::fprintf(stderr, "dpserve serve: cannot find the dpserve executable (/proc/self/exe)\n");
    return 1;
  }
  std::string model_path = config.model_path;
  if (model_path.empty()) {
    try {
      model_path = engine::default_model_dir();
      std::fprintf(stderr, "[serve] no --model-path: using the default tiny model in %s\n",
                   model_path.c_str());
      // Created once here, so N workers do not race to write it.
      engine::ensure_default_model(model_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dpserve serve: default model: %s\n", e.what());
      return 1;
    }
  }
  Supervisor supervisor(std::move(config), std::move(self), std::move(model_path));
  int code = supervisor.run();
  // Every child is stopped and reaped: nothing is left to clean up. Leave without static
  // destructors, one of which (in the linked engine libraries) was seen blocking process exit
  // after "[serve] stopped"; not diagnosed yet.
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace dpserve::launcher
