// A generic async HTTP/1.1 server: one io_context and one SO_REUSEPORT acceptor per thread, so a
// connection and everything it touches (upstream pools included) stays on one thread. Handlers are
// C++20 coroutines that answer with a whole response or stream a body with back-pressure.
#pragma once

#include "common/http/beast.h"
#include "common/http/deadline.h"
#include "common/http/request.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dpserve::http {

// Shared by every connection of one Server: requests being handled, and whether it is draining
// (responses then ask the client to close the connection).
struct ServerState {
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> draining{false};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick a free port (see Server::port())
  size_t threads = 1;
  uint64_t body_limit = uint64_t{512} << 20;
  uint32_t header_limit = 64 * 1024;
  // Longest wait for one whole request (idle keep-alive included): a slowloris guard.
  std::chrono::seconds read_timeout{120};
  // Longest wait for one write to the client to complete (a client that stops reading).
  std::chrono::seconds write_timeout{300};
  // When set, counts open client connections (a metrics gauge).
  std::atomic<int64_t>* active_connections = nullptr;
  // Set by Server to its own state; serve_connection works without one.
  ServerState* state = nullptr;
};

// One request and its answer, on the connection's thread. The object lives as long as the
// connection and is reset() for each request, so its buffers are reused.
class Exchange {
 public:
  // `draining`, when set and true at the time a response begins, makes it the connection's last.
  Exchange(tcp::socket& socket, Deadline& deadline, Request& request, std::string_view peer,
           std::chrono::seconds write_timeout, const std::atomic<bool>* draining = nullptr);
  ~Exchange();
  // Starts the next request (read into the Request given at construction).
  void reset();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  Request& request() { return request_; }
  std::string_view peer() const { return peer_; }
  tcp::socket& socket() { return socket_; }
  // A buffer the handler may use for the current request; it keeps its capacity across the
  // connection's requests (no allocation per request).
  std::string& scratch() { return scratch_; }

  // Sends a whole response (keep-alive follows the request). Content-Length is set here.
  net::awaitable<bool> respond(Response& response);
  net::awaitable<bool> respond(unsigned status, std::string body,
                               std::string_view content_type = "application/json");
  // A router-made JSON error {"error":{type,code,message}}.
  net::awaitable<bool> respond_error(unsigned status, std::string_view code,
                                     std::string_view message);

  // Streaming: `head` holds the status and headers; framing is added here: Content-Length when
  // `content_length` is set, otherwise chunked (HTTP/1.1) or close-delimited (HTTP/1.0). The head
  // goes out with the first body write (one syscall). Every write completes before it returns,
  // which is the back-pressure: a slow client slows the producer instead of growing a buffer.
  void begin_stream(const bhttp::response_header<>& head, std::optional<uint64_t> content_length);
  // The same from a parsed head (the proxy relaying a worker's response): hop-by-hop headers and
  // x-request-id are dropped.
  void begin_stream(const MessageHead& head, std::optional<uint64_t> content_length);
  net::awaitable<bool> write_body(std::string_view data);
  net::awaitable<bool> end_stream();

  // Headers every response gets (e.g. x-request-id); applied by respond() and begin_stream().
  void add_response_header(std::string_view name, std::string_view value);

  // Calls `on_gone` once if the client closes its connection before the response is complete.
  // Works while nothing is being read from the client (a peeking receive, so a pipelined next
  // request is never consumed). Armed a few milliseconds late: fast requests never pay for it.
  void watch_disconnect(std::function<void()> on_gone);
  bool client_gone() const;
  // Ends the watch (idempotent); called before the upstream the callback refers to goes away.
  void stop_watching();
  struct Watch;

  bool responded() const { return responded_; }
  // Status of the response sent or begun; 0 while none is.
  unsigned status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }

 private:
  void start_head(unsigned status, std::string_view reason);
  void start_head(const bhttp::response_header<>& head);  // status line and fields
  void finish_head(std::optional<uint64_t> content_length);
  // Writes go through these two (not a nested coroutine: no frame allocated per write).
  auto send(std::span<const net::const_buffer> buffers) {
    deadline_.expires_after(write_timeout_);
    return net::async_write(socket_, buffers, kUse);
  }
  bool sent(const error_code& ec);

  tcp::socket& socket_;
  Deadline& deadline_;
  Request& request_;
  std::string_view peer_;
  std::chrono::seconds write_timeout_;
  const std::atomic<bool>* draining_;
  std::string extra_headers_;  // "name: value\r\n" lines
  std::string head_;           // serialized head waiting for the first body write
  std::string scratch_;
  bool responded_ = false;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  std::shared_ptr<Watch> watch_;
};

using Handler = std::function<net::awaitable<void>(Exchange&)>;

// Hop-by-hop and framing headers: never copied from one connection to another.
bool is_hop_by_hop(bhttp::field name);

class Server {
 public:
  // Binds every acceptor (throws std::system_error naming the address on failure).
  Server(ServerOptions options, Handler handler);
  ~Server();

  uint16_t port() const { return port_; }
  size_t threads() const { return contexts_.size(); }
  net::io_context& context(size_t index) { return *contexts_[index]; }

  // Runs every io thread; returns after stop().
  void run();
  // Thread-safe; stops accepting and ends run().
  void stop();
  // Thread-safe: closes the listeners (new connections are refused) while requests in flight and
  // on open connections go on; their responses carry `Connection: close`.
  void stop_accepting();
  int64_t in_flight() const { return state_.in_flight.load(std::memory_order_acquire); }

 private:
  net::awaitable<void> accept_loop(tcp::acceptor& acceptor);

  ServerOptions options_;
  ServerState state_;
  Handler handler_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
};

// Runs one connection: read requests (with the body limit), call the handler, keep-alive. Exposed
// so tests and fuzzers can drive a socket directly.
net::awaitable<void> serve_connection(tcp::socket socket, const Handler& handler,
                                      const ServerOptions& options);

}  // namespace dpserve::http
