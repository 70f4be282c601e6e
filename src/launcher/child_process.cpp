#include "launcher/child_process.h"

#include <cerrno>
#include <cstring>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace dpserve::launcher {

namespace {

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped";
}

}  // namespace

ChildProcess::~ChildProcess() { stop(std::chrono::milliseconds(2000)); }

bool ChildProcess::start(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env, std::string& error) {
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  for (const auto& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t parent = getpid();
  exit_description_.clear();
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died between fork and prctl: then nobody would ever stop us.
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGCHLD, SIGPIPE}) signal(s, SIG_DFL);
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  // Also from the parent, so the group exists before we ever signal it (no race with the child).
  setpgid(pid, pid);
  pid_ = pid;
  return true;
}

bool ChildProcess::reap() {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0 && errno == EINTR) return false;
  exit_description_ = r == pid_ ? describe(status) : "lost";
  // Whatever the worker started dies with it.
  kill(-pid_, SIGKILL);
  pid_ = -1;
  return true;
}

void ChildProcess::signal_group(int signal) const {
  if (pid_ > 0) kill(-pid_, signal);
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  signal_group(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  signal_group(SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_description_ = describe(status);
  pid_ = -1;
}

}  // namespace dpserve::launcher
