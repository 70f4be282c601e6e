// Starts the workers and the router of `dpserve serve`, waits for them, keeps them running
// (restart with exponential backoff) and stops them all on SIGINT/SIGTERM/SIGQUIT.
#pragma once

#include "launcher/child_process.h"
#include "launcher/serve_config.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dpserve::launcher {

class Supervisor {
 public:
  // `self` is the dpserve executable; `model_path` is resolved (default model already created).
  Supervisor(ServeConfig config, std::string self, std::string model_path);
  // Blocks until a stop signal (exit code 0) or a start-up failure (1). The calling thread must
  // have SIGINT, SIGTERM, SIGQUIT and SIGCHLD blocked.
  int run();

 private:
  using Clock = std::chrono::steady_clock;
  struct Member {
    std::string name;  // "worker 2" or "router"
    std::vector<std::string> argv;
    std::vector<std::string> env;
    int port = 0;
    ChildProcess process;
    bool ready = false;
    int restarts = 0;
    double backoff_secs = 0;
    Clock::time_point started{};
    Clock::time_point restart_at = Clock::time_point::max();
  };

  bool allocate_worker_ports(std::string& error);
  bool start(Member& member);
  // Waits for every member of `group` to answer /health, printing progress; false on a stop
  // signal or a start-up failure.
  bool wait_ready(std::vector<Member*> group, const std::string& path);
  // Handles pending signals for up to `wait`; false once a stop signal arrived.
  bool pump_signals(std::chrono::milliseconds wait);
  void reap_children(bool starting);
  void supervise();
  void stop_all();
  std::string url_of(const Member& member, const std::string& host) const;

  ServeConfig config_;
  std::string self_;
  std::string model_path_;
  std::vector<std::unique_ptr<Member>> workers_;
  std::unique_ptr<Member> router_;
  bool stop_requested_ = false;
  bool startup_failed_ = false;
};

}  // namespace dpserve::launcher
