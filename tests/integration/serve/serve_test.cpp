// `dpserve serve` as a process: 2 tiny-model engine workers plus the router. Its output goes to a
// file (workers log a lot; a pipe nobody drains would block them).
#include "support/http_client.h"
#include "support/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

namespace dpserve::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

fs::path temp_dir(const std::string& name) {
  auto dir = fs::path(DPSERVE_BUILD_DIR) / "test-tmp" / ("serve-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Alive and not a zombie (a killed child of an exited parent may linger as one until reaped).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return false;
  auto close = content.rfind(')');
  return close != std::string::npos && close + 2 < content.size() && content[close + 2] != 'Z';
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class Serve {
 public:
  explicit Serve(const std::string& name, std::vector<std::string> args) : dir_(temp_dir(name)) {
    log_ = dir_ / "serve.log";
    // The default model is created once per build folder, not in the user's cache.
    std::string command = "export XDG_CACHE_HOME='" +
                          (fs::path(DPSERVE_BUILD_DIR) / "test-cache").string() + "'; exec '" +
                          DPSERVE_BIN + "' serve";
    for (const auto& arg : args) command += " '" + arg + "'";
    command += " >'" + log_.string() + "' 2>&1";
    process_ = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", command});
  }
  std::string log() const { return read_file(log_); }
  // Waits for "[serve] ready: serving on http://H:P"; returns P or 0.
  int wait_ready(std::chrono::seconds timeout) {
    std::regex ready(R"(ready: serving on http://[^:]+:(\d+))");
    int port = 0;
    wait_until(
        [&] {
          std::smatch m;
          auto text = log();
          if (std::regex_search(text, m, ready)) port = std::stoi(m[1]);
          return port != 0 || !process_->running();
        },
        timeout);
    return port;
  }
  // Every pid serve reported for its children so far.
  std::set<pid_t> child_pids() const {
    std::set<pid_t> pids;
    std::regex pid(R"(\(pid (\d+)\))");
    auto text = log();
    for (std::sregex_iterator it(text.begin(), text.end(), pid), end; it != end; ++it) {
      pids.insert(static_cast<pid_t>(std::stoi((*it)[1])));
    }
    return pids;
  }
  pid_t worker_pid(int index) const {
    std::regex line("worker " + std::to_string(index) +
                    R"( (?:ready at|is back at) \S+ \(pid (\d+)\))");
    auto text = log();
    pid_t pid = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
      pid = static_cast<pid_t>(std::stoi((*it)[1]));
    }
    return pid;
  }
  Process& process() { return *process_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  fs::path log_;
  std::unique_ptr<Process> process_;
};

int random_base_port() {
  std::random_device rd;
  return 33000 + static_cast<int>(rd() % 20000);
}

std::vector<std::string> two_workers() {
  return {"--dp-size",
          "2",
          "--port",
          "0",
          "--router-dp-worker-base-port",
          std::to_string(random_base_port()),
          "--router-policy",
          "round_robin",
          "--max-total-tokens",
          "4096"};
}

TEST(Serve, BadFlagsAreRejectedBeforeAnythingStarts) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--router-policy", "fastest"}, "--policy"},
      {{"--dp-size", "0"}, "--dp-size"},
      {{"--router-worker-urls", "http://x:1"}, "--router-worker-urls"},
      {{"--no-such-flag", "1"}, "no-such-flag"},
      {{"--page-size", "0"}, "--page-size"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {DPSERVE_BIN, "serve"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process process(argv);
    EXPECT_EQ(process.wait_exit(std::chrono::seconds(20)), 2) << c.args[0];
    EXPECT_NE(process.output().find(c.message), std::string::npos) << process.output();
  }
}

TEST(Serve, ServesEveryApiRestartsAKilledWorkerAndStopsCleanlyOnSigterm) {
  Serve serve("sigterm", two_workers());
  int port = serve.wait_ready(std::chrono::seconds(240));
  ASSERT_GT(port, 0) << serve.log();
  auto generate =
      http_request(port, "POST", "/generate",
                   R"({"text":"hello world","sampling_params":{"max_new_tokens":4}})", {}, 60s);
  EXPECT_EQ(generate.status, 200) << generate.body;
  auto completions = http_request(port, "POST", "/v1/completions",
                                  R"({"prompt":"hello","max_tokens":3})", {}, 60s);
  EXPECT_EQ(completions.status, 200) << completions.body;
  auto chat =
      http_request(port, "POST", "/v1/chat/completions",
                   R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":3})", {}, 60s);
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(http_request(port, "GET", "/v1/models").status, 200);

  // Kill worker 0 outright: serve restarts it on the same port and reports it back.
  pid_t first = serve.worker_pid(0);
  ASSERT_GT(first, 0) << serve.log();
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return serve.worker_pid(0) != first; }, 120s)) << serve.log();
  EXPECT_NE(serve.log().find("worker 0 is back"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    auto after =
        http_request(port, "POST", "/generate",
                     R"({"text":"again","sampling_params":{"max_new_tokens":2}})", {}, 60s);
    EXPECT_EQ(after.status, 200) << after.body;
  }

  auto children = serve.child_pids();
  ASSERT_GE(children.size(), 4u) << serve.log();  // 2 workers, router, restarted worker
  ASSERT_EQ(kill(serve.process().pid(), SIGTERM), 0);
  EXPECT_EQ(serve.process().wait_exit(std::chrono::seconds(20)), 0) << serve.log();
  for (pid_t pid : children) EXPECT_FALSE(alive(pid)) << "pid " << pid << " survived";
}

TEST(Serve, NoProcessSurvivesSigkillOfServe) {
  Serve serve("sigkill", two_workers());
  int port = serve.wait_ready(std::chrono::seconds(240));
  ASSERT_GT(port, 0) << serve.log();
  auto children = serve.child_pids();
  ASSERT_EQ(children.size(), 3u) << serve.log();
  ASSERT_EQ(kill(serve.process().pid(), SIGKILL), 0);
  serve.process().wait_exit(std::chrono::seconds(10));
  EXPECT_TRUE(wait_until(
      [&] {
        for (pid_t pid : children) {
          if (alive(pid)) return false;
        }
        return true;
      },
      10s));
}

TEST(Serve, BenchAgainstServeReportsNoFailuresAndServerSideStats) {
  Serve serve("bench", two_workers());
  int port = serve.wait_ready(std::chrono::seconds(240));
  ASSERT_GT(port, 0) << serve.log();
  auto out = serve.dir() / "runs.jsonl";
  Process bench({DPSERVE_BIN,
                 "bench",
                 "--backend",
                 "openai",
                 "--port",
                 std::to_string(port),
                 "--dataset",
                 "generated-shared-prefix",
                 "--gsp-num-groups",
                 "2",
                 "--gsp-prompts-per-group",
                 "3",
                 "--gsp-system-prompt-len",
                 "64",
                 "--gsp-question-len",
                 "8",
                 "--gsp-output-len",
                 "4",
                 "--output-file",
                 out.string(),
                 "--disable-progress"});
  ASSERT_EQ(bench.wait_exit(std::chrono::seconds(180)), 0) << bench.output();
  auto j = json::parse(read_file(out));
  EXPECT_EQ(j["num_requests"], 6);
  EXPECT_EQ(j["completed"], 6) << j.dump();
  EXPECT_EQ(j["failed"], 0);
  EXPECT_EQ(j["rejected"], 0);
  EXPECT_EQ(j["total_output_tokens"], 24);
  ASSERT_FALSE(j["server_cache_hit_rate"].is_null()) << j.dump();
  EXPECT_GT(j["server_cache_hit_rate"].get<double>(), 0) << "later requests share a prefix";
  ASSERT_EQ(j["worker_share"].size(), 2u) << j.dump();
  double total = 0;
  for (const auto& w : j["worker_share"]) total += w["requests"].get<double>();
  EXPECT_EQ(total, 6) << "round robin: every request counted once across workers";
}

}  // namespace
}  // namespace dpserve::testing
