// A supervised child: its own process group (so a stop reaches everything it started) and
// PR_SET_PDEATHSIG(SIGKILL) (so it dies with serve even when serve is killed with SIGKILL).
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace dpserve::launcher {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // fork + exec of argv[0] with `extra_env` ("NAME=value") added. Must be called from the thread
  // that stays alive as long as the child (PDEATHSIG follows the forking thread). False with
  // `error` set when fork fails; exec failures show up as exit code 127.
  bool start(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
             std::string& error);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Non-blocking reap; true when the child has exited (status in exit_description()).
  bool reap();
  const std::string& exit_description() const { return exit_description_; }
  // SIGTERM to the process group, then SIGKILL after `grace`; waits for the exit.
  void stop(std::chrono::milliseconds grace);
  void signal_group(int signal) const;

 private:
  pid_t pid_ = -1;
  std::string exit_description_;
};

}  // namespace dpserve::launcher
