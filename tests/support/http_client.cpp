#include "support/http_client.h"

#include "common/http/beast.h"

namespace dpserve::testing {

using namespace dpserve::http;

struct HttpConnection::Impl {
  explicit Impl(int port_number) : port(port_number) {}
  net::io_context context;
  std::optional<beast::tcp_stream> stream_storage;
  beast::tcp_stream& stream_ref() { return *stream_storage; }
  beast::flat_buffer buffer;
  int port;
  bool connected = false;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  char chunk[16384];

  // Runs the io_context until `done` or the timeout; on timeout the socket is closed so the
  // pending operation completes and the context is reusable.
  bool run(bool& done, std::chrono::milliseconds timeout) {
    context.restart();
    context.run_for(timeout);
    if (!done) {
      error_code ec;
      stream_ref().socket().close(ec);
      connected = false;
      context.restart();
      context.run();
    }
    return done;
  }

  std::string connect(std::chrono::milliseconds timeout) {
    if (connected) return "";
    stream_storage.emplace(context);
    buffer.clear();
    bool done = false;
    error_code result;
    stream_ref().async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
        [&](error_code ec) {
          result = ec;
          done = true;
        });
    if (!run(done, timeout)) return "connect timeout";
    if (result) return "connect: " + result.message();
    connected = true;
    return "";
  }

  std::string send(const std::string& method, const std::string& target, const std::string& body,
                   const Headers& headers, std::chrono::milliseconds timeout) {
    if (auto error = connect(timeout); !error.empty()) return error;
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
    request.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
    bool has_content_type = false;
    for (const auto& [name, value] : headers) {
      request.set(name, value);
      if (beast::iequals(name, "content-type")) has_content_type = true;
    }
    if (!body.empty() && !has_content_type)
      request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    bool done = false;
    error_code result;
    bhttp::async_write(stream_ref(), request, [&](error_code ec, size_t) {
      result = ec;
      done = true;
    });
    if (!run(done, timeout)) return "write timeout";
    if (result) {
      connected = false;
      return "write: " + result.message();
    }
    return "";
  }

  void fill_headers(HttpResult& result) {
    auto& message = parser->get();
    result.status = message.result_int();
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(field.value());
    }
  }

  HttpResult read_header(std::chrono::milliseconds timeout) {
    HttpResult result;
    parser.emplace();
    parser->body_limit(boost::none);
    bool done = false;
    error_code ec_out;
    bhttp::async_read_header(stream_ref(), buffer, *parser, [&](error_code ec, size_t) {
      ec_out = ec;
      done = true;
    });
    if (!run(done, timeout)) {
      result.error = "timeout waiting for the response header";
      return result;
    }
    if (ec_out) {
      connected = false;
      result.error = "read header: " + ec_out.message();
      return result;
    }
    fill_headers(result);
    return result;
  }

  std::optional<std::string> read_some(std::chrono::milliseconds timeout) {
    if (!parser || parser->is_done()) return std::string();
    parser->get().body().data = chunk;
    parser->get().body().size = sizeof chunk;
    bool done = false;
    error_code ec_out;
    bhttp::async_read_some(stream_ref(), buffer, *parser, [&](error_code ec, size_t) {
      ec_out = ec;
      done = true;
    });
    if (!run(done, timeout)) return std::nullopt;
    if (ec_out == bhttp::error::need_buffer) ec_out = {};
    size_t got = sizeof chunk - parser->get().body().size;
    if (ec_out) {
      connected = false;
      if (got == 0) return std::string();
    }
    if (got == 0 && !parser->is_done()) return read_some(timeout);
    return std::string(chunk, got);
  }
};

HttpConnection::HttpConnection(int port) : impl_(std::make_unique<Impl>(port)) {}
HttpConnection::~HttpConnection() = default;

HttpResult HttpConnection::start(const std::string& method, const std::string& target,
                                 const std::string& body, const Headers& headers,
                                 std::chrono::milliseconds timeout) {
  if (auto error = impl_->send(method, target, body, headers, timeout); !error.empty()) {
    HttpResult result;
    result.error = error;
    return result;
  }
  return impl_->read_header(timeout);
}

std::optional<std::string> HttpConnection::read_some(std::chrono::milliseconds timeout) {
  return impl_->read_some(timeout);
}

HttpResult HttpConnection::request(const std::string& method, const std::string& target,
                                   const std::string& body, const Headers& headers,
                                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpResult result = start(method, target, body, headers, timeout);
  if (result.status == 0) return result;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto bytes = impl_->read_some(std::max(left, std::chrono::milliseconds(1)));
    if (!bytes) {
      result.status = 0;
      result.error = "timeout reading the body";
      return result;
    }
    if (bytes->empty()) break;
    result.body += *bytes;
  }
  if (!impl_->parser->is_done()) {
    result.status = 0;
    result.error = "connection closed before the end of the body";
  } else if (!impl_->parser->get().keep_alive()) {
    impl_->connected = false;
    error_code ec;
    impl_->stream_ref().socket().close(ec);
  }
  return result;
}

std::string HttpConnection::raw(const std::string& bytes, std::chrono::milliseconds timeout) {
  if (auto error = impl_->connect(timeout); !error.empty()) return error;
  bool done = false;
  net::async_write(impl_->stream_ref(), net::buffer(bytes),
                   [&](error_code, size_t) { done = true; });
  impl_->run(done, timeout);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->connected && std::chrono::steady_clock::now() < deadline) {
    bool read_done = false;
    size_t got = 0;
    error_code ec_out;
    impl_->stream_ref().async_read_some(net::buffer(impl_->chunk), [&](error_code ec, size_t n) {
      ec_out = ec;
      got = n;
      read_done = true;
    });
    if (!impl_->run(read_done, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now())))
      break;
    out.append(impl_->chunk, got);
    if (ec_out) break;
  }
  close();
  return out;
}

void HttpConnection::close() {
  error_code ec;
  if (impl_->stream_storage) impl_->stream_ref().socket().close(ec);
  impl_->connected = false;
}

}  // namespace dpserve::testing
