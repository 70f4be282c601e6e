#include "common/http/client.h"

#include <boost/asio/connect.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace dpserve::http {

namespace {

PoolOptions g_options;
constexpr std::chrono::milliseconds kProbeAfterIdle{1000};

// True when the peer has closed (or reset) a parked connection; a pending byte also disqualifies
// it, since no response is expected on an idle connection.
bool looks_closed(tcp::socket& socket) {
  char byte;
  ssize_t r = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r < 0) return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  return true;
}

}  // namespace

ConnectionPool& ConnectionPool::local() {
  thread_local ConnectionPool pool;
  return pool;
}

void ConnectionPool::set_options(const PoolOptions& options) { g_options = options; }

net::awaitable<std::unique_ptr<Connection>> ConnectionPool::acquire(const Endpoint& endpoint,
                                                                    error_code& ec) {
  ec = {};
  auto now = std::chrono::steady_clock::now();
  if (auto it = idle_.find(endpoint.key); it != idle_.end()) {
    auto& stack = it->second;
    while (!stack.empty()) {
      auto connection = std::move(stack.back());
      stack.pop_back();
      const auto idle = now - connection->idle_since;
      if (idle > g_options.idle_timeout) continue;
      // A connection parked moments ago is almost never closed by the peer, and if it was, the
      // caller's retry-on-fresh-connection covers it; the probe is a syscall per request, so
      // only connections idle for a while pay it.
      if (idle >= kProbeAfterIdle && looks_closed(connection->socket)) continue;
      connection->reused = true;
      co_return connection;
    }
  }
  auto executor = co_await net::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kUse);
  if (resolve_ec) {
    ec = resolve_ec;
    co_return nullptr;
  }
  auto connection = std::make_unique<Connection>(executor);
  connection->buffer.reserve(16 * 1024);
  connection->deadline.expires_after(g_options.connect_timeout);
  auto [connect_ec, ep] = co_await net::async_connect(connection->socket, results, kUse);
  connection->deadline.expires_never();
  if (connect_ec) {
    ec = connection->deadline.map(connect_ec);
    co_return nullptr;
  }
  error_code ignored;
  connection->socket.set_option(tcp::no_delay(true), ignored);
  co_return connection;
}

void ConnectionPool::release(const Endpoint& endpoint, std::unique_ptr<Connection> connection) {
  if (!connection || connection->buffer.size() != 0) return;  // stray bytes: not reusable
  connection->deadline.expires_never();
  if (connection->deadline.expired()) return;
  auto& stack = idle_[endpoint.key];
  if (stack.size() >= g_options.max_idle_per_upstream) return;
  connection->idle_since = std::chrono::steady_clock::now();
  stack.push_back(std::move(connection));
}

void ConnectionPool::forget(const Endpoint& endpoint) { idle_.erase(endpoint.key); }

size_t ConnectionPool::idle_count(const Endpoint& endpoint) const {
  auto it = idle_.find(endpoint.key);
  return it == idle_.end() ? 0 : it->second.size();
}

net::awaitable<FetchResult> fetch(const Endpoint& endpoint, bhttp::verb method,
                                  std::string_view target, std::string body,
                                  std::string_view bearer, std::chrono::milliseconds timeout) {
  auto& pool = ConnectionPool::local();
  bhttp::request<bhttp::string_body> request{method, endpoint.path_prefix + std::string(target),
                                             11};
  request.set(bhttp::field::host, endpoint.host_header);
  if (!bearer.empty()) request.set(bhttp::field::authorization, "Bearer " + std::string(bearer));
  if (!body.empty() || method == bhttp::verb::post || method == bhttp::verb::put) {
    request.set(bhttp::field::content_type, "application/json");
  }
  request.body() = std::move(body);
  request.prepare_payload();
  FetchResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    error_code ec;
    auto connection = co_await pool.acquire(endpoint, ec);
    if (!connection) {
      result.ec = ec;
      co_return result;
    }
    bool reused = connection->reused;
    connection->deadline.expires_after(timeout);
    auto [write_ec, written] = co_await bhttp::async_write(connection->socket, request, kUse);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(uint64_t{64} << 20);
    error_code read_ec = write_ec;
    if (!write_ec) {
      auto [ec2, n] =
          co_await bhttp::async_read(connection->socket, connection->buffer, parser, kUse);
      read_ec = ec2;
    }
    connection->deadline.expires_never();
    read_ec = connection->deadline.map(read_ec);
    if (read_ec) {
      bool nothing_received = !parser.got_some();
      if (reused && nothing_received && read_ec != beast::error::timeout) continue;
      result.ec = read_ec;
      co_return result;
    }
    auto& response = parser.get();
    result.ec = {};
    result.status = response.result_int();
    result.content_type = std::string(response[bhttp::field::content_type]);
    result.body = std::move(response.body());
    if (response.keep_alive() && !parser.need_eof()) pool.release(endpoint, std::move(connection));
    co_return result;
  }
  co_return result;
}

}  // namespace dpserve::http
