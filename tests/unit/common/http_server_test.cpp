// The generic HTTP server and the pooled client, in-process on 127.0.0.1 with port 0.
#include "common/http/client.h"
#include "common/http/server.h"
#include "support/http_client.h"

#include <boost/asio/read_until.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace dpserve::http {
namespace {

using testing::http_request;
using testing::HttpConnection;

// A server on its own threads for the duration of a test.
class RunningServer {
 public:
  RunningServer(Handler handler, ServerOptions options = {})
      : server_(options, std::move(handler)) {
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return server_.port(); }
  Server& server() { return server_; }

 private:
  Server server_;
  std::thread thread_;
};

net::awaitable<void> echo_handler(Exchange& exchange) {
  auto& request = exchange.request();
  if (request.target() == "/stream") {
    bhttp::response_header<> head;
    head.result(bhttp::status::ok);
    head.set(bhttp::field::content_type, "text/event-stream");
    exchange.begin_stream(head, std::nullopt);
    for (int i = 0; i < 3; ++i) co_await exchange.write_body("data: " + std::to_string(i) + "\n\n");
    co_await exchange.end_stream();
    co_return;
  }
  if (request.target() == "/length") {
    bhttp::response_header<> head;
    head.result(bhttp::status::created);
    exchange.begin_stream(head, 10);
    co_await exchange.write_body("01234");
    co_await exchange.write_body("56789");
    co_await exchange.end_stream();
    co_return;
  }
  if (request.target() == "/throw") throw std::runtime_error("boom");
  if (request.target() == "/silent") co_return;
  exchange.add_response_header("x-extra", "yes");
  co_await exchange.respond(200, std::string(request.method_string()) + " " + request.body(),
                            "text/plain");
}

TEST(HttpServer, WholeResponsesKeepAlive) {
  RunningServer server(echo_handler);
  HttpConnection connection(server.port());
  for (int i = 0; i < 3; ++i) {
    auto result = connection.request("POST", "/x", "body" + std::to_string(i));
    ASSERT_EQ(result.status, 200) << result.error;
    EXPECT_EQ(result.body, "POST body" + std::to_string(i));
    EXPECT_EQ(result.header("x-extra"), "yes");
  }
}

TEST(HttpServer, ChunkedAndLengthStreams) {
  RunningServer server(echo_handler);
  HttpConnection connection(server.port());
  auto stream = connection.request("GET", "/stream");
  ASSERT_EQ(stream.status, 200) << stream.error;
  EXPECT_EQ(stream.header("transfer-encoding"), "chunked");
  EXPECT_EQ(stream.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  auto fixed = connection.request("GET", "/length");
  ASSERT_EQ(fixed.status, 201) << fixed.error;
  EXPECT_EQ(fixed.header("content-length"), "10");
  EXPECT_EQ(fixed.body, "0123456789");
}

TEST(HttpServer, HandlerFailuresBecome500) {
  RunningServer server(echo_handler);
  EXPECT_EQ(http_request(server.port(), "GET", "/throw").status, 500);
  auto silent = http_request(server.port(), "GET", "/silent");
  EXPECT_EQ(silent.status, 500);
  EXPECT_NE(silent.body.find("internal_error"), std::string::npos);
}

TEST(HttpServer, BodyLimitGives413Json) {
  ServerOptions options;
  options.body_limit = 1000;
  RunningServer server(echo_handler, options);
  auto ok = http_request(server.port(), "POST", "/x", std::string(1000, 'a'));
  EXPECT_EQ(ok.status, 200);
  auto big = http_request(server.port(), "POST", "/x", std::string(1001, 'a'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("\"code\":\"payload_too_large\""), std::string::npos);
}

TEST(HttpServer, MalformedRequestGives400) {
  RunningServer server(echo_handler);
  HttpConnection connection(server.port());
  auto reply = connection.raw("GARBAGE\x01 / HTTP/9\r\n\r\n");
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("bad_request"), std::string::npos) << reply;
  // The server is still fine afterwards.
  EXPECT_EQ(http_request(server.port(), "GET", "/x").status, 200);
}

TEST(HttpServer, ChunkedBodiesPipeliningAndContinue) {
  RunningServer server(echo_handler);
  HttpConnection connection(server.port());
  // A chunked body, a pipelined request right behind it (after a stray CRLF, which old clients
  // send after a body), and one that asks for 100-continue with its body already sent (so no
  // interim answer); the last one closes the connection so that `raw` returns.
  auto reply = connection.raw(
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n"
      "\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nfg"
      "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n"
      "\r\nhi");
  EXPECT_NE(reply.find("POST abcde"), std::string::npos) << reply;
  EXPECT_LT(reply.find("POST abcde"), reply.find("POST fg")) << reply;
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
  EXPECT_NE(reply.find("POST hi"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
}

TEST(HttpServer, ExpectContinueGetsAnInterimAnswer) {
  RunningServer server(echo_handler);
  net::io_context context;
  tcp::socket socket(context);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  net::write(socket, net::buffer(std::string_view(
                         "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")));
  std::string reply;
  net::read_until(socket, net::dynamic_buffer(reply), "\r\n\r\n");
  EXPECT_EQ(reply, "HTTP/1.1 100 Continue\r\n\r\n");
  reply.clear();
  net::write(socket, net::buffer(std::string_view("hi")));
  net::read_until(socket, net::dynamic_buffer(reply), "POST hi");
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
}

TEST(HttpServer, HeadLimitAndBadChunksAreRejected) {
  ServerOptions options;
  options.header_limit = 1024;
  RunningServer server(echo_handler, options);
  {
    HttpConnection connection(server.port());
    auto reply = connection.raw("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n");
    EXPECT_NE(reply.find("431"), std::string::npos) << reply;
    EXPECT_NE(reply.find("header_too_large"), std::string::npos) << reply;
  }
  {
    HttpConnection connection(server.port());
    auto reply = connection.raw(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    EXPECT_NE(reply.find("400"), std::string::npos) << reply;
    EXPECT_NE(reply.find("chunked"), std::string::npos) << reply;
  }
  {
    HttpConnection connection(server.port());
    auto reply = connection.raw(
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  }
  EXPECT_EQ(http_request(server.port(), "GET", "/x").status, 200);
}

TEST(HttpServer, IdleAndSlowClientsTimeOut) {
  ServerOptions options;
  options.read_timeout = std::chrono::seconds(1);
  RunningServer server(echo_handler, options);
  HttpConnection connection(server.port());
  // Half a head, then nothing: the server closes the connection after read_timeout.
  auto start = std::chrono::steady_clock::now();
  auto reply = connection.raw("GET / HTTP/1.1\r\nHost: a\r\n", std::chrono::seconds(5));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply, "");
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
}

TEST(HttpServer, ManyThreadsShareOnePort) {
  ServerOptions options;
  options.threads = 3;
  RunningServer server(echo_handler, options);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http_request(server.port(), "GET", "/x").status, 200);
}

TEST(HttpServer, NoticesClientDisconnect) {
  std::atomic<bool> noticed{false};
  RunningServer server([&noticed](Exchange& exchange) -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::seconds(20));
    exchange.watch_disconnect([&] {
      noticed = true;
      timer.cancel();
    });
    co_await timer.async_wait(kUse);
    co_await exchange.respond(200, "late");
  });
  {
    HttpConnection connection(server.port());
    auto result = connection.request("GET", "/x", "", {}, std::chrono::milliseconds(200));
    EXPECT_EQ(result.status, 0);  // timed out and closed
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!noticed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(noticed);
}

// The pooled client against a real server: keep-alive reuse and the stale-connection retry.
TEST(HttpClient, FetchReusesPooledConnections) {
  std::atomic<int> requests{0};
  RunningServer server([&](Exchange& exchange) -> net::awaitable<void> {
    ++requests;
    co_await exchange.respond(200, "{\"n\":" + std::to_string(requests.load()) + "}");
  });
  std::string error;
  auto endpoint = parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()), error);
  ASSERT_TRUE(endpoint);
  net::io_context context;
  std::vector<FetchResult> results;
  size_t idle_after = 0;
  net::co_spawn(
      context,
      [&]() -> net::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          results.push_back(co_await fetch(*endpoint, bhttp::verb::get, "/x", "", "tok",
                                           std::chrono::seconds(5)));
        }
        idle_after = ConnectionPool::local().idle_count(*endpoint);
        ConnectionPool::local().forget(*endpoint);  // must not outlive `context`
      },
      net::detached);
  context.run_for(std::chrono::seconds(10));
  ASSERT_EQ(results.size(), 3u);
  for (auto& result : results) EXPECT_EQ(result.status, 200) << result.ec.message();
  EXPECT_EQ(results[2].body, "{\"n\":3}");
  EXPECT_EQ(idle_after, 1u);  // one connection served all three
}

TEST(HttpClient, FetchTimesOut) {
  RunningServer server([](Exchange& exchange) -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::seconds(3));
    co_await timer.async_wait(kUse);
    co_await exchange.respond(200, "late");
  });
  std::string error;
  auto endpoint = parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()), error);
  ASSERT_TRUE(endpoint);
  net::io_context context;
  FetchResult result;
  bool done = false;
  auto start = std::chrono::steady_clock::now();
  net::co_spawn(
      context,
      [&]() -> net::awaitable<void> {
        result = co_await fetch(*endpoint, bhttp::verb::get, "/", "", "",
                                std::chrono::milliseconds(300));
        done = true;
        ConnectionPool::local().forget(*endpoint);
      },
      net::detached);
  context.run_for(std::chrono::seconds(5));
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(done);
  EXPECT_EQ(result.ec, beast::error::timeout) << result.ec.message();
  EXPECT_LT(waited, std::chrono::milliseconds(2000));
}

TEST(HttpClient, ConnectFailureIsAnError) {
  // Bind and close a port to get one nothing listens on.
  net::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();
  acceptor.close();
  std::string error;
  auto endpoint = parse_endpoint("http://127.0.0.1:" + std::to_string(port), error);
  FetchResult result;
  bool done = false;
  net::co_spawn(
      context,
      [&]() -> net::awaitable<void> {
        result = co_await fetch(*endpoint, bhttp::verb::get, "/", "", "", std::chrono::seconds(2));
        done = true;
      },
      net::detached);
  context.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(done);
  EXPECT_TRUE(result.ec);
  EXPECT_EQ(result.status, 0u);
}

}  // namespace
}  // namespace dpserve::http
