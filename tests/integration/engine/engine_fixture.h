// Shared helpers for the engine integration tests: a tiny checkpoint made once per test binary,
// real `dpserve engine` processes on 127.0.0.1 (port 0), and JSON request shortcuts.
#pragma once

#include "common/http/sse.h"
#include "engine/model/presets.h"
#include "support/http_client.h"
#include "support/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace dpserve::testing {

using nlohmann::json;

// The tiny Llama checkpoint (seed 0) in a temp folder, created on first use.
const std::string& tiny_model_dir();

// A started engine; stopped (SIGTERM) when destroyed.
class Engine {
 public:
  // `flags` are appended to: engine --model-path <tiny> --port 0 --log-level warning.
  explicit Engine(std::vector<std::string> flags = {});
  int port() const { return port_; }

  HttpResult get(const std::string& path, const Headers& headers = {}) const;
  HttpResult post(const std::string& path, const json& body, const Headers& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // POST and parse a 200 JSON answer (fails the test otherwise).
  json post_ok(const std::string& path, const json& body, const Headers& headers = {}) const;
  json get_ok(const std::string& path) const;
  // The "data:" payloads of a streamed answer, up to and including [DONE].
  std::vector<std::string> stream(const std::string& path, const json& body,
                                  const Headers& headers = {}) const;

  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// A greedy /generate body over explicit token ids.
json greedy_ids(const std::vector<int32_t>& ids, int max_new_tokens);
// `n` deterministic pseudo-random token ids in [10, 500) from `seed`.
std::vector<int32_t> prompt_ids(int seed, int n);

// Definitions (header-only: the test glob compiles only *_test.cpp files).

inline const std::string& tiny_model_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    fs::path path = fs::temp_directory_path() /
                    ("dpserve-engine-test-" + std::to_string(getpid())) / "tiny-llama";
    engine::CreateOptions options;
    options.arch = "llama";
    options.preset = "tiny";
    options.out = path.string();
    engine::create_checkpoint(options);
    // Removed when the test binary exits.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                      ("dpserve-engine-test-" + std::to_string(getpid())),
                                  ec);
    });
    return path.string();
  }();
  return dir;
}

inline Engine::Engine(std::vector<std::string> flags) {
  std::vector<std::string> argv = {DPSERVE_BIN, "engine", "--model-path", tiny_model_dir(),
                                   "--port",    "0",      "--log-level",  "warning"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<Process>(argv);
  port_ = process_->wait_for_port(std::chrono::seconds(60));
  if (port_ == 0) {
    process_->wait_exit(std::chrono::seconds(5));
    ADD_FAILURE() << "engine did not start: " << process_->output();
  }
}

inline HttpResult Engine::get(const std::string& path, const Headers& headers) const {
  return http_request(port_, "GET", path, "", headers, std::chrono::seconds(30));
}

inline HttpResult Engine::post(const std::string& path, const json& body, const Headers& headers,
                               std::chrono::milliseconds timeout) const {
  Headers all = headers;
  all.emplace_back("content-type", "application/json");
  return http_request(port_, "POST", path, body.dump(), all, timeout);
}

inline json Engine::post_ok(const std::string& path, const json& body,
                            const Headers& headers) const {
  HttpResult result = post(path, body, headers);
  EXPECT_EQ(result.status, 200) << path << ": " << result.body << result.error;
  return json::parse(result.body, nullptr, false);
}

inline json Engine::get_ok(const std::string& path) const {
  HttpResult result = get(path);
  EXPECT_EQ(result.status, 200) << path << ": " << result.body << result.error;
  return json::parse(result.body, nullptr, false);
}

inline std::vector<std::string> Engine::stream(const std::string& path, const json& body,
                                               const Headers& headers) const {
  HttpConnection connection(port_);
  Headers all = headers;
  all.emplace_back("content-type", "application/json");
  HttpResult head = connection.start("POST", path, body.dump(), all, std::chrono::seconds(30));
  EXPECT_EQ(head.status, 200) << head.body << head.error;
  EXPECT_EQ(head.header("content-type"), "text/event-stream");
  std::vector<std::string> payloads;
  http::SseSplitter splitter;
  for (;;) {
    auto bytes = connection.read_some(std::chrono::seconds(60));
    if (!bytes) {
      ADD_FAILURE() << "stream timed out";
      break;
    }
    if (bytes->empty()) break;
    for (const auto& event : splitter.feed(*bytes)) payloads.push_back(http::sse_data(event));
    if (!payloads.empty() && payloads.back() == "[DONE]") break;
  }
  return payloads;
}

inline json greedy_ids(const std::vector<int32_t>& ids, int max_new_tokens) {
  return json{{"input_ids", ids},
              {"sampling_params", {{"temperature", 0}, {"max_new_tokens", max_new_tokens}}}};
}

inline std::vector<int32_t> prompt_ids(int seed, int n) {
  std::vector<int32_t> ids;
  uint32_t state = static_cast<uint32_t>(seed) * 2654435761u + 12345u;
  for (int i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    ids.push_back(10 + static_cast<int32_t>((state >> 8) % 490));
  }
  return ids;
}

}  // namespace dpserve::testing
