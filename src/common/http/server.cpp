#include "common/http/server.h"

#include "common/http/client.h"
#include "common/json_error.h"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
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

struct Exchange::Watch {
  explicit Watch(const net::any_io_executor& executor) : delay(executor) {}
  bool active = true;
  bool gone = false;
  bool armed = false;
  char peek = 0;
  net::steady_timer delay;
  std::function<void()> on_gone;
};

namespace {
// A request answered within this long never arms the socket watch: arming costs a syscall per
// request (a peeking receive), which is a large share of a fast proxied request's cost. A
// disconnect is then noticed at most this much later.
constexpr auto kWatchDelay = std::chrono::milliseconds(50);
}  // namespace

Exchange::Exchange(beast::tcp_stream& stream, Request& request, std::string_view peer,
                   std::chrono::seconds write_timeout, const std::atomic<bool>* draining)
    : stream_(stream),
      request_(request),
      peer_(peer),
      write_timeout_(write_timeout),
      draining_(draining) {
  keep_alive_ = request_.keep_alive();
}

Exchange::~Exchange() { stop_watching(); }

void Exchange::add_response_header(std::string_view name, std::string_view value) {
  extra_headers_.append(name);
  extra_headers_.append(": ");
  extra_headers_.append(value);
  extra_headers_.append("\r\n");
}

net::awaitable<bool> Exchange::respond(Response& response) {
  responded_ = true;
  status_ = response.result_int();
  if (draining_ && draining_->load(std::memory_order_acquire)) keep_alive_ = false;
  response.version(request_.version() == 10 ? 10 : 11);
  response.keep_alive(keep_alive_);
  // extra_headers_ is already in wire form; parse it back into fields once per response.
  std::string_view rest = extra_headers_;
  while (!rest.empty()) {
    auto eol = rest.find("\r\n");
    auto line = rest.substr(0, eol);
    auto colon = line.find(':');
    response.set(line.substr(0, colon), line.substr(colon + 2));
    rest.remove_prefix(eol + 2);
  }
  response.prepare_payload();
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await bhttp::async_write(stream_, response, kUse);
  stream_.expires_never();
  if (ec) keep_alive_ = false;
  co_return !ec;
}

net::awaitable<bool> Exchange::respond(unsigned status, std::string body,
                                       std::string_view content_type) {
  Response response{static_cast<bhttp::status>(status), 11};
  response.set(bhttp::field::content_type, content_type);
  response.body() = std::move(body);
  co_return co_await respond(response);
}

net::awaitable<bool> Exchange::respond_error(unsigned status, std::string_view code,
                                             std::string_view message) {
  co_return co_await respond(status, common::error_body(status, code, message));
}

void Exchange::serialize_head(bhttp::response_header<>& head) {
  head_.clear();
  head_.append(request_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, head.result_int());
  head_.append(digits, end);
  head_ += ' ';
  auto reason = head.reason();
  if (reason.empty()) reason = bhttp::obsolete_reason(head.result());
  head_.append(reason.data(), reason.size());
  head_.append("\r\n");
  for (const auto& field : head) {
    if (is_hop_by_hop(field.name())) continue;
    head_.append(field.name_string().data(), field.name_string().size());
    head_.append(": ");
    head_.append(field.value().data(), field.value().size());
    head_.append("\r\n");
  }
  head_.append(extra_headers_);
}

void Exchange::begin_stream(bhttp::response_header<>& head,
                            std::optional<uint64_t> content_length) {
  responded_ = true;
  status_ = head.result_int();
  if (draining_ && draining_->load(std::memory_order_acquire)) keep_alive_ = false;
  streaming_ = true;
  serialize_head(head);
  if (content_length) {
    head_.append("Content-Length: ");
    head_.append(std::to_string(*content_length));
    head_.append("\r\n");
  } else if (request_.version() >= 11) {
    chunked_ = true;
    head_.append("Transfer-Encoding: chunked\r\n");
  } else {
    keep_alive_ = false;  // the end of the body is the end of the connection
  }
  head_.append(keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
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
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await net::async_write(stream_, buffers, kUse);
  stream_.expires_never();
  head_.clear();
  if (ec) {
    keep_alive_ = false;
    co_return false;
  }
  co_return true;
}

net::awaitable<bool> Exchange::end_stream() {
  std::array<net::const_buffer, 2> buffers{net::buffer(head_),
                                           net::const_buffer("0\r\n\r\n", chunked_ ? 5 : 0)};
  if (buffers[0].size() + buffers[1].size() == 0) co_return true;
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await net::async_write(stream_, buffers, kUse);
  stream_.expires_never();
  head_.clear();
  if (ec) keep_alive_ = false;
  co_return !ec;
}

void Exchange::watch_disconnect(std::function<void()> on_gone) {
  if (watch_) {
    watch_->on_gone = std::move(on_gone);
    return;
  }
  watch_ = std::make_shared<Watch>(stream_.get_executor());
  watch_->on_gone = std::move(on_gone);
  auto* socket = &stream_.socket();
  // The socket is touched only while the watch is active, and the watch is deactivated before
  // the exchange (and so the connection) goes away. A peeking receive sees both a close (0 bytes)
  // and a reset without consuming a pipelined request.
  struct Arm {
    static void go(std::shared_ptr<Watch> w, tcp::socket* s) {
      s->async_receive(net::buffer(&w->peek, 1), tcp::socket::message_peek,
                       [w, s](error_code ec, size_t n) {
                         if (!w->active || ec == net::error::operation_aborted) return;
                         if (!ec && n > 0)
                           return;  // a pipelined request: leave it for the next read
                         if (ec == net::error::interrupted || ec == net::error::would_block) {
                           go(w, s);
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
  };
  watch_->delay.expires_after(kWatchDelay);
  watch_->delay.async_wait([w = watch_, socket](error_code ec) {
    if (ec || !w->active) return;
    w->armed = true;
    Arm::go(w, socket);
  });
}

void Exchange::stop_watching() {
  if (!watch_ || !watch_->active) return;
  watch_->active = false;
  watch_->on_gone = nullptr;
  watch_->delay.cancel();
  if (!watch_->armed) return;
  error_code ec;
  stream_.socket().cancel(ec);
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

net::awaitable<void> serve_connection(tcp::socket socket, const Handler& handler,
                                      const ServerOptions& options) {
  ScopedCount connection(options.active_connections);
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string peer;
  if (auto endpoint = socket.remote_endpoint(ec); !ec) peer = endpoint.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  // Without an initial capacity the buffer grows from 512 bytes and every body read is a 512-byte
  // syscall (measured: 0.1x nginx's req/s at 128 KiB bodies). 64 KiB per connection keeps large
  // prompts to a few reads.
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  for (;;) {
    if (buffer.capacity() > kMaxIdleBufferBytes && buffer.size() == 0) {
      buffer = beast::flat_buffer();  // give back what one huge request grew
      buffer.reserve(kReadBufferBytes);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(options.header_limit);
    stream.expires_after(options.read_timeout);
    auto [read_ec, bytes] = co_await bhttp::async_read(stream, buffer, parser, kUse);
    stream.expires_never();
    if (read_ec) {
      unsigned status = 0;
      std::string_view code;
      if (read_ec == bhttp::error::body_limit) {
        status = 413;
        code = "payload_too_large";
      } else if (read_ec == bhttp::error::header_limit) {
        status = 431;
        code = "header_too_large";
      } else if (read_ec.category() ==
                     bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
                 read_ec != bhttp::error::end_of_stream &&
                 read_ec != bhttp::error::partial_message) {
        status = 400;
        code = "bad_request";
      }
      if (status != 0) {
        std::string message = "request body exceeds the configured limit";
        if (status != 413) message = "malformed HTTP request: " + read_ec.message();
        Response response{static_cast<bhttp::status>(status), 11};
        response.set(bhttp::field::content_type, "application/json");
        response.set(bhttp::field::connection, "close");
        response.body() = common::error_body(status, code, message);
        response.prepare_payload();
        stream.expires_after(options.write_timeout);
        co_await bhttp::async_write(stream, response, kUse);
        // Lingering close: read and drop what the client is still sending (bounded), so closing
        // with unread bytes does not reset the connection before the client reads the answer.
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream.expires_after(std::chrono::seconds(2));
        char sink[8192];
        for (size_t drained = 0; drained < (size_t{16} << 20);) {
          auto [drain_ec, n] = co_await stream.async_read_some(net::buffer(sink), kUse);
          if (drain_ec) break;
          drained += n;
        }
      }
      break;
    }
    Request& request = parser.get();
    bool keep_alive = false;
    {
      ServerState* state = options.state;
      Exchange exchange(stream, request, peer, options.write_timeout,
                        state ? &state->draining : nullptr);
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
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
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
    contexts_.push_back(std::make_unique<net::io_context>(1));
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
