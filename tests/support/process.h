// A child process for integration tests: started with posix_spawn, stdout captured, stopped
// (SIGTERM, then SIGKILL) when the object goes away.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace dpserve::testing {

class Process {
 public:
  explicit Process(std::vector<std::string> argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads stdout until a line "... listening on http://HOST:PORT" and returns PORT, or 0 when the
  // process exits or the timeout passes first.
  int wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for exit; returns the exit code, or -1 on timeout (the process is then killed).
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Everything read from stdout and stderr so far (stderr only after wait_exit).
  const std::string& output() const { return output_; }
  bool running();
  pid_t pid() const { return pid_; }
  void stop();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string output_;
  int exit_code_ = -1;
};

// A started dpserve_test_worker.
struct TestWorker {
  explicit TestWorker(const std::string& name, const std::string& model = "test-model",
                      int dp_size = 1, const std::string& api_key = "");
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  Process process;
  int port = 0;
};

}  // namespace dpserve::testing
