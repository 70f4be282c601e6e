#include "launcher/supervisor.h"

#include "launcher/health.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <signal.h>

namespace dpserve::launcher {

namespace {

constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kStopGrace = std::chrono::milliseconds(5000);
// A member that ran this long before dying starts again from the initial backoff.
constexpr auto kStableRun = std::chrono::seconds(60);

void say(const std::string& line) {
  std::fprintf(stderr, "[serve] %s\n", line.c_str());
  std::fflush(stderr);
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", s);
  return text;
}

}  // namespace

Supervisor::Supervisor(ServeConfig config, std::string self, std::string model_path)
    : config_(std::move(config)), self_(std::move(self)), model_path_(std::move(model_path)) {}

std::string Supervisor::url_of(const Member& member, const std::string& host) const {
  return "http://" + host + ":" + std::to_string(member.port);
}

bool Supervisor::allocate_worker_ports(std::string& error) {
  // sglang_router.launch_server's rule: from the base port, step by a random 100-1000 past busy
  // ones, so two servers started at once rarely collide twice.
  std::mt19937 rng(static_cast<unsigned>(std::time(nullptr)) ^ static_cast<unsigned>(getpid()));
  std::uniform_int_distribution<int> step(100, 1000);
  int port = config_.worker_base_port;
  for (int i = 0; i < config_.dp_size; ++i) {
    while (!port_is_free(config_.worker_host, port)) {
      port += step(rng);
      if (port > 65535) {
        error =
            "no free port for worker " + std::to_string(i) + " from --router-dp-worker-base-port";
        return false;
      }
    }
    auto member = std::make_unique<Member>();
    member->name = "worker " + std::to_string(i);
    member->port = port;
    member->argv = {self_,          "engine",
                    "--host",       config_.worker_host,
                    "--port",       std::to_string(port),
                    "--dp-size",    "1",
                    "--model-path", model_path_,
                    "--tp-size",    std::to_string(config_.tp_size)};
    member->argv.insert(member->argv.end(), config_.engine_args.begin(), config_.engine_args.end());
    member->env = {"DPSERVE_DP_RANK=" + std::to_string(i), "SGLANG_DP_RANK=" + std::to_string(i),
                   "DPSERVE_BASE_GPU_ID=" + std::to_string(i * config_.tp_size)};
    member->backoff_secs = config_.restart_backoff_initial_secs;
    workers_.push_back(std::move(member));
    ++port;
  }
  return true;
}

bool Supervisor::start(Member& member) {
  std::string error;
  member.ready = false;
  member.restart_at = Clock::time_point::max();
  if (!member.process.start(member.argv, member.env, error)) {
    say(member.name + ": cannot start: " + error);
    return false;
  }
  member.started = Clock::now();
  return true;
}

bool Supervisor::pump_signals(std::chrono::milliseconds wait) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGCHLD}) sigaddset(&set, s);
  timespec timeout{static_cast<time_t>(wait.count() / 1000),
                   static_cast<long>((wait.count() % 1000) * 1000000)};
  siginfo_t info;
  int signal = sigtimedwait(&set, &info, &timeout);
  while (signal > 0) {
    if (signal != SIGCHLD) {
      say(std::string("received ") + strsignal(signal) + ", stopping");
      stop_requested_ = true;
    }
    timespec zero{0, 0};
    signal = sigtimedwait(&set, &info, &zero);
  }
  return !stop_requested_;
}

void Supervisor::reap_children(bool starting) {
  auto handle = [&](Member& member) {
    if (!member.process.running() || !member.process.reap()) return;
    auto ran = Clock::now() - member.started;
    if (starting) {
      say(member.name + " " + member.process.exit_description() + " while starting");
      startup_failed_ = true;
      return;
    }
    if (ran > kStableRun) member.backoff_secs = config_.restart_backoff_initial_secs;
    say(member.name + " (" + url_of(member, config_.worker_host) + ") " +
        member.process.exit_description() + "; restarting in " + seconds(member.backoff_secs));
    member.ready = false;
    member.restart_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(member.backoff_secs));
    member.backoff_secs = std::min(member.backoff_secs * 2, config_.restart_backoff_max_secs);
  };
  for (auto& worker : workers_) handle(*worker);
  if (router_) handle(*router_);
}

bool Supervisor::wait_ready(std::vector<Member*> group, const std::string& path) {
  auto begin = Clock::now();
  auto deadline = begin + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(config_.worker_startup_timeout_secs));
  auto next_note = begin + std::chrono::seconds(5);
  size_t ready = 0;
  while (ready < group.size()) {
    if (!pump_signals(std::chrono::milliseconds(100))) return false;
    reap_children(true);
    if (startup_failed_) return false;
    for (auto* member : group) {
      if (member->ready) continue;
      const auto& host = member == router_.get() ? config_.host : config_.worker_host;
      auto probe_host = host == "0.0.0.0" ? std::string("127.0.0.1") : host;
      if (!http_ok(probe_host, member->port, path, kProbeTimeout)) continue;
      member->ready = true;
      ++ready;
      say(member->name + " ready at " + url_of(*member, host) + " (pid " +
          std::to_string(member->process.pid()) + ") after " +
          seconds(std::chrono::duration<double>(Clock::now() - begin).count()) + " (" +
          std::to_string(ready) + "/" + std::to_string(group.size()) + ")");
    }
    auto now = Clock::now();
    if (ready < group.size() && now >= next_note) {
      next_note = now + std::chrono::seconds(5);
      say("waiting: " + std::to_string(ready) + "/" + std::to_string(group.size()) +
          " ready after " + seconds(std::chrono::duration<double>(now - begin).count()));
    }
    if (ready < group.size() && now > deadline) {
      say("gave up after --worker-startup-timeout-secs " +
          seconds(config_.worker_startup_timeout_secs));
      return false;
    }
  }
  return true;
}

void Supervisor::supervise() {
  while (pump_signals(std::chrono::milliseconds(200))) {
    reap_children(false);
    auto now = Clock::now();
    auto tend = [&](Member& member, const std::string& host) {
      if (!member.process.running() && now >= member.restart_at) {
        ++member.restarts;
        say("restarting " + member.name + " (restart " + std::to_string(member.restarts) + ")");
        if (!start(member)) {
          member.restart_at = now + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(member.backoff_secs));
        }
      } else if (member.process.running() && !member.ready) {
        auto probe_host = host == "0.0.0.0" ? std::string("127.0.0.1") : host;
        const char* path = &member == router_.get() ? "/liveness" : "/health";
        if (http_ok(probe_host, member.port, path, kProbeTimeout)) {
          member.ready = true;
          say(member.name + " is back at " + url_of(member, host) + " (pid " +
              std::to_string(member.process.pid()) + ")");
        }
      }
    };
    for (auto& worker : workers_) tend(*worker, config_.worker_host);
    if (router_) tend(*router_, config_.host);
  }
}

void Supervisor::stop_all() {
  // The router first, so no new request reaches a worker that is going away; then every worker
  // at once, each with the same grace period.
  if (router_) router_->process.stop(kStopGrace);
  for (auto& worker : workers_) worker->process.signal_group(SIGTERM);
  for (auto& worker : workers_) worker->process.stop(kStopGrace);
  say("stopped");
}

int Supervisor::run() {
  std::string error;
  if (!allocate_worker_ports(error)) {
    say(error);
    return 1;
  }
  say("starting " + std::to_string(workers_.size()) + " engine workers with model " + model_path_);
  std::vector<Member*> group;
  for (auto& worker : workers_) {
    say(worker->name + ": " + url_of(*worker, config_.worker_host));
    if (!start(*worker)) {
      stop_all();
      return 1;
    }
    group.push_back(worker.get());
  }
  if (!wait_ready(group, "/health")) {
    stop_all();
    return stop_requested_ ? 0 : 1;
  }
  int port = config_.port != 0 ? config_.port : pick_free_port(config_.host);
  router_ = std::make_unique<Member>();
  router_->name = "router";
  router_->port = port;
  router_->backoff_secs = config_.restart_backoff_initial_secs;
  router_->argv = {self_,          "router", "--host", config_.host, "--port", std::to_string(port),
                   "--worker-urls"};
  for (auto& worker : workers_) router_->argv.push_back(url_of(*worker, config_.worker_host));
  router_->argv.insert(router_->argv.end(), config_.router_args.begin(), config_.router_args.end());
  if (!start(*router_) || !wait_ready({router_.get()}, "/liveness")) {
    say("the router did not start; stopping the workers");
    stop_all();
    return stop_requested_ ? 0 : 1;
  }
  const std::string base = "http://" + config_.host + ":" + std::to_string(port);
  say("ready: serving on " + base + " with " + std::to_string(workers_.size()) + " workers");
  say("dashboard: " + base + "/dashboard");
  supervise();
  stop_all();
  return 0;
}

}  // namespace dpserve::launcher
