// Shared set-up for router integration tests: real `dpserve router` and test-worker processes on
// 127.0.0.1 with port 0.
#pragma once

#include "support/http_client.h"
#include "support/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dpserve::testing {

using nlohmann::json;

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

struct RouterProcess {
  explicit RouterProcess(std::vector<std::string> flags, size_t expect_workers = 0,
                         const std::string& api_key = "")
      : process([&] {
          std::vector<std::string> argv = {DPSERVE_BIN, "router", "--port",      "0",
                                           "--threads", "2",      "--log-level", "warn"};
          argv.insert(argv.end(), flags.begin(), flags.end());
          return argv;
        }()) {
    port = process.wait_for_port();
    if (port == 0) {
      process.wait_exit();
      ADD_FAILURE() << "router did not start: " << process.output();
      return;
    }
    if (expect_workers > 0) {
      Headers headers;
      if (!api_key.empty()) headers.push_back({"Authorization", "Bearer " + api_key});
      bool ready = eventually([&] {
        auto r = http_request(port, "GET", "/workers", "", headers);
        if (r.status != 200) return false;
        return json::parse(r.body)["workers"].size() >= expect_workers;
      });
      EXPECT_TRUE(ready) << "router did not register " << expect_workers << " workers";
    }
  }
  HttpResult get(const std::string& target, const Headers& headers = {}) const {
    return http_request(port, "GET", target, "", headers);
  }
  HttpResult post(const std::string& target, const std::string& body,
                  const Headers& headers = {}) const {
    return http_request(port, "POST", target, body, headers);
  }
  HttpResult http_delete(const std::string& target) const {
    return http_request(port, "DELETE", target);
  }
  Process process;
  int port = 0;
};

// `dpserve router FLAGS...` must exit 2 with a message naming `expected`.
struct CliCase {
  std::vector<std::string> flags;
  std::string expected;
};

inline void expect_rejected(const CliCase& c) {
  std::vector<std::string> argv = {DPSERVE_BIN, "router"};
  argv.insert(argv.end(), c.flags.begin(), c.flags.end());
  Process process(argv);
  EXPECT_EQ(process.wait_exit(), 2) << c.expected;
  EXPECT_NE(process.output().find(c.expected), std::string::npos)
      << "expected '" << c.expected << "' in: " << process.output();
}

inline json parse_json(const std::string& text) {
  auto value = json::parse(text, nullptr, false);
  EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
  return value;
}

inline void expect_json_error(const HttpResult& result, int status, const std::string& code) {
  EXPECT_EQ(result.status, status) << result.body << result.error;
  auto body = parse_json(result.body);
  if (!body.is_object() || !body.contains("error")) {
    ADD_FAILURE() << "no error object: " << result.body;
    return;
  }
  EXPECT_EQ(body["error"]["code"], code) << result.body;
  EXPECT_TRUE(body["error"]["type"].is_string());
  EXPECT_TRUE(body["error"]["message"].is_string());
}

}  // namespace dpserve::testing
