// Blocking HTTP/1.1 helpers for tests, with a deadline on every call (never hangs a test).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dpserve::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

struct HttpResult {
  int status = 0;  // 0: transport error or timeout (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One keep-alive connection to 127.0.0.1:port.
class HttpConnection {
 public:
  explicit HttpConnection(int port);
  ~HttpConnection();
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "", const Headers& headers = {},
                     std::chrono::milliseconds timeout = 10s);

  // Streaming: send a request and read the header only.
  HttpResult start(const std::string& method, const std::string& target, const std::string& body,
                   const Headers& headers = {}, std::chrono::milliseconds timeout = 10s);
  // Next body bytes after start(): nullopt on timeout, "" at the end of the body.
  std::optional<std::string> read_some(std::chrono::milliseconds timeout = 10s);
  // Sends raw bytes (malformed-request tests) and reads whatever comes back until close/timeout.
  std::string raw(const std::string& bytes, std::chrono::milliseconds timeout = 5s);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline HttpResult http_request(int port, const std::string& method, const std::string& target,
                               const std::string& body = "", const Headers& headers = {},
                               std::chrono::milliseconds timeout = 10s) {
  HttpConnection connection(port);
  return connection.request(method, target, body, headers, timeout);
}

}  // namespace dpserve::testing
