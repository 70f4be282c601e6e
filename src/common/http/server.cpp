#include "common/http/server.h"

#include "common/http/client.h"
#include "common/json_error.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <exception>
#include <sys/socket.h>

namespace dpserve::http {

namespace {

using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

void log_exception(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("http: connection task failed: {}", e.what());
  }
}

}  // namespace

bool is_hop_by_hop(bhttp::field name) {
  switch (name) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::content_length:
      return true;
    default:
      return false;
  }
}

// The disconnect watch of one connection, reused request after request. Shared with the peeking
// receive's handler, which may run after the connection is gone.
struct Exchange::Watch : std::enable_shared_from_this<Exchange::Watch> {
  explicit Watch(tcp::socket& s) : socket(s), delay(s, &Watch::arm, this) {}

  static void arm(void* self) {
    auto* w = static_cast<Watch*>(self);
    if (!w->active) return;
    w->receiving = true;
    w->receive();
  }
  // A peeking receive sees both a close (0 bytes) and a reset without consuming a pipelined
  // request.
  void receive() {
    socket.async_receive(net::buffer(&peek, 1), tcp::socket::message_peek,
                         [w = shared_from_this()](error_code ec, size_t n) {
                           if (!w->active || ec == net::error::operation_aborted) return;
                           if (!ec && n > 0) return;  // a pipelined request: left for later
                           if (ec == net::error::interrupted || ec == net::error::would_block) {
                             w->receive();
                             return;
                           }
                           w->gone = true;
                           w->active = false;
                           if (w->on_gone) {
                             auto callback = std::move(w->on_gone);
                             callback();
                           }
                         });
  }

  tcp::socket& socket;
  Deadline delay;
  bool active = false;
  bool gone = false;
  bool receiving = false;  // a receive was started since the watch began
  char peek = 0;
  std::function<void()> on_gone;
};

namespace {
// A request answered within this long never arms the socket watch: arming costs a syscall per
// request (a peeking receive), which is a large share of a fast proxied request's cost. The delay
// runs on the deadline ticker, so a disconnect is noticed 50 to 150 ms late.
constexpr auto kWatchDelay = std::chrono::milliseconds(50);
}  // namespace

Exchange::Exchange(tcp::socket& socket, Deadline& deadline, Request& request, std::string_view peer,
                   std::chrono::seconds write_timeout, const std::atomic<bool>* draining)
    : socket_(socket),
      deadline_(deadline),
      request_(request),
      peer_(peer),
      write_timeout_(write_timeout),
      draining_(draining) {}

Exchange::~Exchange() { stop_watching(); }

void Exchange::reset() {
  stop_watching();
  extra_headers_.clear();
  head_.clear();
  scratch_.clear();
  responded_ = false;
  status_ = 0;
  keep_alive_ = request_.keep_alive();
  chunked_ = false;
  if (watch_) watch_->gone = false;
}

void Exchange::add_response_header(std::string_view name, std::string_view value) {
  extra_headers_.append(name);
  extra_headers_.append(": ");
  extra_headers_.append(value);
  extra_headers_.append("\r\n");
}

bool Exchange::sent(const error_code& ec) {
  deadline_.expires_never();
  head_.clear();
  if (ec) keep_alive_ = false;
  return !ec;
}

void Exchange::start_head(unsigned status, std::string_view reason) {
  responded_ = true;
  status_ = status;
  if (draining_ && draining_->load(std::memory_order_acquire)) keep_alive_ = false;
  head_.clear();
  head_.append(request_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  head_.append(digits, end);
  head_ += ' ';
  if (reason.empty()) {
    auto text = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    reason = std::string_view(text.data(), text.size());
  }
  head_.append(reason);
  head_.append("\r\n");
}

// Adds our headers and the framing: Content-Length when known, otherwise chunked (HTTP/1.1) or
// close-delimited (HTTP/1.0).
void Exchange::finish_head(std::optional<uint64_t> content_length) {
  head_.append(extra_headers_);
  if (status_ == 204 || status_ == 304) {
    // No body and no framing headers (RFC 9110 8.6).
  } else if (content_length) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *content_length);
    head_.append("Content-Length: ");
    head_.append(digits, end);
    head_.append("\r\n");
  } else if (request_.version() >= 11) {
    chunked_ = true;
    head_.append("Transfer-Encoding: chunked\r\n");
  } else {
    keep_alive_ = false;  // the end of the body is the end of the connection
  }
  head_.append(keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
}

void Exchange::start_head(const bhttp::response_header<>& head) {
  start_head(head.result_int(), std::string_view(head.reason().data(), head.reason().size()));
  for (const auto& field : head) {
    if (is_hop_by_hop(field.name())) continue;
    head_.append(field.name_string().data(), field.name_string().size());
    head_.append(": ");
    head_.append(field.value().data(), field.value().size());
    head_.append("\r\n");
  }
}

net::awaitable<bool> Exchange::respond(Response& response) {
  start_head(response);
  finish_head(response.body().size());
  std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(response.body())};
  auto [ec, n] = co_await send(buffers);
  co_return sent(ec);
}

net::awaitable<bool> Exchange::respond(unsigned status, std::string body,
                                       std::string_view content_type) {
  start_head(status, {});
  head_.append("Content-Type: ");
  head_.append(content_type);
  head_.append("\r\n");
  finish_head(body.size());
  std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body)};
  auto [ec, n] = co_await send(buffers);
  co_return sent(ec);
}

net::awaitable<bool> Exchange::respond_error(unsigned status, std::string_view code,
                                             std::string_view message) {
  co_return co_await respond(status, common::error_body(status, code, message));
}

void Exchange::begin_stream(const bhttp::response_header<>& head,
                            std::optional<uint64_t> content_length) {
  start_head(head);
  finish_head(content_length);
}

void Exchange::begin_stream(const MessageHead& head, std::optional<uint64_t> content_length) {
  start_head(head.status, head.reason);
  for (const auto& field : head.headers) {
    if (is_hop_by_hop(field.kind) || field.kind == HeaderKind::kRequestId) continue;
    head_.append(field.name);
    head_.append(": ");
    head_.append(field.value);
    head_.append("\r\n");
  }
  finish_head(content_length);
}

net::awaitable<bool> Exchange::write_body(std::string_view data) {
  if (data.empty()) co_return true;  // an empty chunk would end a chunked body
  char prefix[24];
  size_t prefix_len = 0;
  if (chunked_) {
    auto [end, ec] = std::to_chars(prefix, prefix + 16, data.size(), 16);
    end[0] = '\r';
    end[1] = '\n';
    prefix_len = static_cast<size_t>(end + 2 - prefix);
  }
  std::array<net::const_buffer, 4> buffers{
      net::buffer(head_), net::const_buffer(prefix, prefix_len),
      net::const_buffer(data.data(), data.size()), net::const_buffer("\r\n", chunked_ ? 2 : 0)};
  auto [ec, n] = co_await send(buffers);
  co_return sent(ec);
}

net::awaitable<bool> Exchange::end_stream() {
  std::array<net::const_buffer, 2> buffers{net::buffer(head_),
                                           net::const_buffer("0\r\n\r\n", chunked_ ? 5 : 0)};
  if (buffers[0].size() + buffers[1].size() == 0) co_return true;
  auto [ec, n] = co_await send(buffers);
  co_return sent(ec);
}

void Exchange::watch_disconnect(std::function<void()> on_gone) {
  if (!watch_) watch_ = std::make_shared<Watch>(socket_);
  watch_->on_gone = std::move(on_gone);
  if (watch_->active || watch_->gone) return;
  watch_->active = true;
  watch_->delay.expires_after(kWatchDelay);
}

void Exchange::stop_watching() {
  if (!watch_ || !watch_->active) return;
  watch_->active = false;
  watch_->on_gone = nullptr;
  watch_->delay.expires_never();
  if (!watch_->receiving) return;
  watch_->receiving = false;
  error_code ec;
  socket_.cancel(ec);
}

bool Exchange::client_gone() const { return watch_ && watch_->gone; }

namespace {
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr size_t kMaxIdleBufferBytes = 1024 * 1024;

// Holds one unit on a counter (when there is one) for its lifetime.
class ScopedCount {
 public:
  explicit ScopedCount(std::atomic<int64_t>* counter) : counter_(counter) {
    if (counter_) counter_->fetch_add(1, std::memory_order_acq_rel);
  }
  ~ScopedCount() {
    if (counter_) counter_->fetch_sub(1, std::memory_order_acq_rel);
  }
  ScopedCount(const ScopedCount&) = delete;
  ScopedCount& operator=(const ScopedCount&) = delete;

 private:
  std::atomic<int64_t>* counter_;
};
}  // namespace

namespace {

// Why a request could not be read; status 0 closes the connection without an answer (the client
// went away, timed out or stopped mid-request).
struct ReadFailure {
  unsigned status = 0;
  std::string_view code;
  std::string message;
};

constexpr size_t kMinRead = 4096;

// The read into `buffer`'s free space (at least kMinRead); the caller commits what came.
auto read_more(tcp::socket& socket, beast::flat_buffer& buffer) {
  size_t room = buffer.capacity() - buffer.size();
  return socket.async_read_some(buffer.prepare(std::max(room, kMinRead)), kUse);
}

net::awaitable<bool> send_continue(tcp::socket& socket) {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  auto [ec, n] = co_await net::async_write(socket, net::buffer(kContinue), kUse);
  co_return !ec;
}

// Reads one request (head and whole body) into `request`; bytes after it stay in `buffer` (a
// pipelined request). False when the connection must close, with `failure` saying whether to
// answer first.
net::awaitable<bool> read_request(tcp::socket& socket, beast::flat_buffer& buffer, Request& request,
                                  const ServerOptions& options, ReadFailure& failure) {
  HeadScanner scanner;
  for (;;) {
    // Empty lines before a request line are ignored (RFC 9112 2.2; some clients send a CRLF
    // after a POST body).
    size_t blank = 0;
    for (auto bytes = view_of(buffer); bytes.substr(blank, 2) == "\r\n";) blank += 2;
    if (blank > 0) {
      buffer.consume(blank);
      scanner.reset();
    }
    auto scan = scanner.scan(view_of(buffer));
    if (scan == HeadScanner::Result::kFound) break;
    if (scan == HeadScanner::Result::kInvalid) {
      failure = {400, "bad_request", "malformed HTTP request: a line does not end with CRLF"};
      co_return false;
    }
    if (buffer.size() >= options.header_limit) break;
    auto [ec, n] = co_await read_more(socket, buffer);
    buffer.commit(n);
    if (ec) co_return false;
  }
  if (scanner.head_bytes() == 0 || scanner.head_bytes() > options.header_limit) {
    failure = {431, "header_too_large", "request head exceeds the configured limit"};
    co_return false;
  }
  std::string error;
  if (request.parse(view_of(buffer).substr(0, scanner.head_bytes()), error) != ParseResult::kOk) {
    failure = {400, "bad_request", "malformed HTTP request: " + error};
    co_return false;
  }
  buffer.consume(scanner.head_bytes());
  const MessageHead& head = request.head();
  std::string& body = request.body();
  const bool may_continue = head.expect_continue && head.version == 11;
  if (head.framing == BodyFraming::kLength) {
    if (head.content_length > options.body_limit) {
      failure = {413, "payload_too_large", "request body exceeds the configured limit"};
      co_return false;
    }
    const size_t length = head.content_length;
    size_t have = std::min(buffer.size(), length);
    if (may_continue && have < length && !co_await send_continue(socket)) co_return false;
    // The rest is read straight into the body: no copy, and never past this request. The body
    // still holds the connection's previous one, so resize() zero-fills only what it grows by.
    body.resize(length);
    std::memcpy(body.data(), buffer.data().data(), have);
    buffer.consume(have);
    while (have < length) {
      auto [ec, n] =
          co_await socket.async_read_some(net::buffer(body.data() + have, length - have), kUse);
      if (ec) co_return false;
      have += n;
    }
  } else if (head.framing == BodyFraming::kChunked) {
    body.clear();
    if (may_continue && !co_await send_continue(socket)) co_return false;
    ChunkedDecoder decoder;
    for (;;) {
      if (buffer.size() > 0) {
        auto* data = static_cast<char*>(buffer.data().data());
        auto decoded = decoder.decode(data, buffer.size());
        if (decoded.error) {
          failure = {400, "bad_request", "malformed HTTP request: bad chunked body"};
          co_return false;
        }
        if (body.size() + decoded.payload > options.body_limit) {
          failure = {413, "payload_too_large", "request body exceeds the configured limit"};
          co_return false;
        }
        body.append(data, decoded.payload);
        buffer.consume(decoded.consumed);
        if (decoded.done) break;
      }
      auto [ec, n] = co_await read_more(socket, buffer);
      buffer.commit(n);
      if (ec) co_return false;
    }
  } else {
    body.clear();
  }
  co_return true;
}

// Answers a request that could not be read, then closes with a lingering read so that closing
// with unread bytes does not reset the connection before the client reads the answer.
net::awaitable<void> reject(tcp::socket& socket, Deadline& deadline, const ReadFailure& failure,
                            const ServerOptions& options) {
  std::string body = common::error_body(failure.status, failure.code, failure.message);
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(failure.status));
  std::string head = "HTTP/1.1 " + std::to_string(failure.status) + " ";
  head.append(reason.data(), reason.size());
  head.append("\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ");
  head.append(std::to_string(body.size()));
  head.append("\r\n\r\n");
  std::array<net::const_buffer, 2> buffers{net::buffer(head), net::buffer(body)};
  deadline.expires_after(options.write_timeout);
  co_await net::async_write(socket, buffers, kUse);
  error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  deadline.expires_after(std::chrono::seconds(2));
  char sink[8192];
  for (size_t drained = 0; drained < (size_t{16} << 20);) {
    auto [drain_ec, n] = co_await socket.async_read_some(net::buffer(sink), kUse);
    if (drain_ec) break;
    drained += n;
  }
}

}  // namespace

net::awaitable<void> serve_connection(tcp::socket socket, const Handler& handler,
                                      const ServerOptions& options) {
  ScopedCount connection(options.active_connections);
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string peer;
  if (auto endpoint = socket.remote_endpoint(ec); !ec) peer = endpoint.address().to_string();
  Deadline deadline(socket);
  // Without an initial capacity the buffer grows from 512 bytes and every body read is a 512-byte
  // syscall (measured: 0.1x nginx's req/s at 128 KiB bodies). 64 KiB per connection keeps large
  // heads and pipelined requests to a few reads; large bodies are read into the body directly.
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  Request request;
  ServerState* state = options.state;
  Exchange exchange(socket, deadline, request, peer, options.write_timeout,
                    state ? &state->draining : nullptr);
  for (;;) {
    if (buffer.capacity() > kMaxIdleBufferBytes && buffer.size() == 0) {
      buffer = beast::flat_buffer();  // give back what one huge request grew
      buffer.reserve(kReadBufferBytes);
    }
    if (request.body().capacity() > kMaxIdleBufferBytes) request.body() = std::string();
    ReadFailure failure;
    deadline.expires_after(options.read_timeout);
    bool read = co_await read_request(socket, buffer, request, options, failure);
    deadline.expires_never();
    if (!read) {
      if (failure.status != 0) co_await reject(socket, deadline, failure, options);
      break;
    }
    bool keep_alive = false;
    {
      exchange.reset();
      ScopedCount in_flight(state ? &state->in_flight : nullptr);
      bool failed = false;
      try {
        co_await handler(exchange);
      } catch (const std::exception& e) {
        spdlog::error("http: handler for {} failed: {}", request.target(), e.what());
        failed = true;
      }
      exchange.stop_watching();
      if (!exchange.responded() && !exchange.client_gone()) {
        co_await exchange.respond_error(500, "internal_error",
                                        failed ? "internal error" : "handler sent no response");
      } else if (failed) {
        break;  // a half-written response cannot be completed
      }
      keep_alive = exchange.keep_alive() && !exchange.client_gone();
    }
    if (!keep_alive) break;
  }
  deadline.expires_never();
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

Server::Server(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  options_.state = &state_;
  if (options_.threads == 0) options_.threads = 1;
  net::io_context resolve_context;
  tcp::resolver resolver(resolve_context);
  auto results =
      resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive);
  if (results.empty()) throw std::runtime_error("cannot resolve host '" + options_.host + "'");
  tcp::endpoint endpoint = results.begin()->endpoint();
  for (size_t i = 0; i < options_.threads; ++i) {
    // Sockets are only ever touched by their own context's thread: no per-descriptor locking.
    contexts_.push_back(std::make_unique<net::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
    auto acceptor = std::make_unique<tcp::acceptor>(*contexts_.back());
    acceptor->open(endpoint.protocol());
    acceptor->set_option(net::socket_base::reuse_address(true));
    acceptor->set_option(ReusePort(true));
    try {
      acceptor->bind(endpoint);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot bind " + options_.host + ":" +
                               std::to_string(endpoint.port()) + ": " + e.code().message());
    }
    acceptor->listen(net::socket_base::max_listen_connections);
    // Port 0 picks a free port once; every other acceptor joins that same port.
    endpoint.port(acceptor->local_endpoint().port());
    acceptors_.push_back(std::move(acceptor));
  }
  port_ = endpoint.port();
}

Server::~Server() {
  stop();
  acceptors_.clear();
}

net::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUse);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      net::steady_timer timer(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await timer.async_wait(kUse);
      continue;
    }
    net::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), handler_, options_),
                  log_exception);
  }
}

void Server::run() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    net::co_spawn(*contexts_[i], accept_loop(*acceptors_[i]), log_exception);
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([this, i] {
      contexts_[i]->run();
      ConnectionPool::local().clear();
    });
  }
  contexts_[0]->run();
  ConnectionPool::local().clear();
  for (auto& thread : threads) thread.join();
}

void Server::stop_accepting() {
  state_.draining.store(true, std::memory_order_release);
  for (size_t i = 0; i < contexts_.size(); ++i) {
    net::post(*contexts_[i], [acceptor = acceptors_[i].get()] {
      error_code ec;
      acceptor->close(ec);
    });
  }
}

void Server::stop() {
  for (auto& context : contexts_) context->stop();
}

}  // namespace dpserve::http
