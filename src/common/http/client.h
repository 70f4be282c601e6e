// Upstream HTTP/1.1 client: keep-alive connections pooled per upstream and per io thread (so no
// locks), plus a one-shot `fetch` for small calls (discovery, admin fan-out, health).
#pragma once

#include "common/http/beast.h"
#include "common/http/deadline.h"
#include "common/http/parser.h"
#include "common/http/url.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dpserve::http {

// A connection and its read buffer travel together: bytes read past one response belong to it.
struct Connection {
  explicit Connection(const net::any_io_executor& executor) : socket(executor), deadline(socket) {}
  tcp::socket socket;
  Deadline deadline;
  beast::flat_buffer buffer;
  MessageHead head;  // the last response head read on it (its header list's capacity is reused)
  bool reused = false;
  std::chrono::steady_clock::time_point idle_since;
};

struct PoolOptions {
  size_t max_idle_per_upstream = 256;
  // Shorter than uvicorn's 5 s keep-alive, so we rarely reuse a connection the server is closing.
  std::chrono::milliseconds idle_timeout{4000};
  std::chrono::milliseconds connect_timeout{5000};
};

class ConnectionPool {
 public:
  // The pool of the calling io thread.
  static ConnectionPool& local();
  static void set_options(const PoolOptions& options);

  // A warm idle connection (LIFO) or a fresh one. nullptr with `ec` set on connect failure.
  net::awaitable<std::unique_ptr<Connection>> acquire(const Endpoint& endpoint, error_code& ec);
  // Parks a connection whose last response was read completely and allows keep-alive.
  void release(const Endpoint& endpoint, std::unique_ptr<Connection> connection);
  // Drops every idle connection to `endpoint` (worker removed).
  void forget(const Endpoint& endpoint);
  // Drops every idle connection. Connections belong to the io_context that made them: a thread
  // must clear (or forget) before that io_context is destroyed. Server::run does this for its
  // io threads.
  void clear() { idle_.clear(); }
  size_t idle_count(const Endpoint& endpoint) const;

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

struct FetchResult {
  error_code ec;  // transport error (connect, timeout, reset); status is 0 then
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

// One request/response through the pool; retries once on a fresh connection when a reused one
// fails before any response byte (the stale keep-alive race, cpp-craft.md 2.5).
net::awaitable<FetchResult> fetch(const Endpoint& endpoint, bhttp::verb method,
                                  std::string_view target, std::string body,
                                  std::string_view bearer, std::chrono::milliseconds timeout);

}  // namespace dpserve::http
