#include "support/process.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dpserve::testing {

Process::Process(std::vector<std::string> argv) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Process::~Process() {
  stop();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

int Process::wait_for_port(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t scanned = 0;
  for (;;) {
    for (size_t eol; (eol = output_.find('\n', scanned)) != std::string::npos; scanned = eol + 1) {
      auto line = output_.substr(scanned, eol - scanned);
      auto at = line.find("listening on http://");
      if (at == std::string::npos) continue;
      auto colon = line.rfind(':');
      return std::atoi(line.c_str() + colon + 1);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) return 0;
    char buffer[4096];
    ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) return 0;
    output_.append(buffer, static_cast<size_t>(n));
  }
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return false;
}

int Process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Drain both pipes while waiting so a chatty child never blocks on a full pipe.
  for (;;) {
    pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
    poll(fds, 2, 20);
    for (auto& fd : fds) {
      if (fd.revents & (POLLIN | POLLHUP)) {
        char buffer[4096];
        ssize_t n = read(fd.fd, buffer, sizeof buffer);
        if (n > 0) output_.append(buffer, static_cast<size_t>(n));
      }
    }
    if (!running()) {
      for (int fd : {stdout_fd_, stderr_fd_}) {
        char buffer[4096];
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0)
          output_.append(buffer, static_cast<size_t>(n));
      }
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      return -1;
    }
  }
}

void Process::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (!running()) return;
    usleep(10000);
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

TestWorker::TestWorker(const std::string& name, const std::string& model, int dp_size,
                       const std::string& api_key)
    : process([&] {
        std::vector<std::string> argv = {
            DPSERVE_TEST_WORKER,    "--port", "0", "--name", name, "--model", model, "--dp-size",
            std::to_string(dp_size)};
        if (!api_key.empty()) {
          argv.push_back("--api-key");
          argv.push_back(api_key);
        }
        return argv;
      }()) {
  port = process.wait_for_port();
  if (port == 0) throw std::runtime_error("test worker " + name + " did not start");
}

}  // namespace dpserve::testing
