// The real router in front of a raw upstream that answers with hand-written bytes: the framings
// and oddities a worker may produce (interim 1xx, close-delimited bodies, chunked bodies with
// trailers, 204, garbage) reach the client correctly framed, and the router stays healthy.
#include "common/http/parser.h"
#include "router_fixture.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace dpserve::testing {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Canned responses, chosen by the request's X-Raw header.
const std::map<std::string, std::string> kAnswers = {
    {"continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
    {"until-close", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello until close"},
    {"trailers",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: worker-id\r\n\r\n"
     "5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"},
    {"no-content", "HTTP/1.1 204 No Content\r\n\r\n"},
    {"garbage", "this is not HTTP\r\n\r\n"},
    {"bad-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
};

// Blocking, one thread per connection (the router keeps several connections open at once: one
// pool per io thread, plus the health checks).
class RawUpstream {
 public:
  RawUpstream() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~RawUpstream() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes the blocking accept
    thread_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& connection : connections_) connection.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stop_) return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      connections_.emplace_back([this, socket] {
        while (answer_one(*socket)) {
        }
      });
    }
  }

  // Reads one request and answers it; false when the connection is done.
  bool answer_one(tcp::socket& socket) {
    std::string bytes;
    http::HeadScanner scanner;
    char chunk[4096];
    boost::system::error_code ec;
    while (scanner.scan(bytes) != http::HeadScanner::Result::kFound) {
      size_t n = socket.read_some(net::buffer(chunk), ec);
      if (ec) return false;
      bytes.append(chunk, n);
    }
    http::MessageHead head;
    std::string error;
    if (http::parse_request_head(std::string_view(bytes).substr(0, scanner.head_bytes()), head,
                                 error) != http::ParseResult::kOk) {
      return false;
    }
    size_t have = bytes.size() - scanner.head_bytes();
    if (head.content_length > have) {
      std::string rest(head.content_length - have, '\0');
      net::read(socket, net::buffer(rest), ec);
    }
    std::string path(head.target);
    std::string answer;
    bool close = false;
    if (path == "/health") {
      answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
    } else if (path == "/get_server_info") {
      answer =
          "HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\n{\"dp_size\":1,\"model_path\":\"raw\"}";
    } else if (path == "/get_model_info") {
      answer = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"model_path\":\"raw\"}";
    } else {
      const http::Header* raw = head.find("x-raw");
      auto it = raw ? kAnswers.find(std::string(raw->value)) : kAnswers.end();
      if (it == kAnswers.end()) {
        answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      } else {
        answer = it->second;
        close = it->first == "until-close" || it->first == "garbage" || it->first == "bad-chunk";
      }
    }
    net::write(socket, net::buffer(answer), ec);
    if (close || ec) {
      socket.shutdown(tcp::socket::shutdown_both, ec);
      return false;
    }
    return true;
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> connections_;
};

TEST(RouterRelay, EveryUpstreamFramingReachesTheClient) {
  RawUpstream upstream;
  RouterProcess router({"--policy", "round_robin", "--worker-urls", upstream.url()}, 1);
  auto post = [&router](const std::string& raw) {
    return router.post("/generate", R"({"text":"x"})", {{"X-Raw", raw}});
  };

  auto interim = post("continue");
  EXPECT_EQ(interim.status, 200);
  EXPECT_EQ(interim.body, "ok");

  auto until_close = post("until-close");
  EXPECT_EQ(until_close.status, 200);
  EXPECT_EQ(until_close.body, "hello until close");

  auto chunked = post("trailers");
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body, "hello world");
  // The router's own request id replaces the worker's.
  EXPECT_NE(chunked.header("x-request-id"), "worker-id");
  EXPECT_NE(chunked.header("x-request-id"), "");

  auto empty = post("no-content");
  EXPECT_EQ(empty.status, 204);
  EXPECT_EQ(empty.body, "");

  auto garbage = post("garbage");
  EXPECT_EQ(garbage.status, 502);
  EXPECT_NE(garbage.body.find("upstream_unavailable"), std::string::npos) << garbage.body;

  // A body the worker breaks off mid-chunk: the client must not see a complete response.
  auto broken = post("bad-chunk");
  EXPECT_NE(broken.status, 200) << broken.body;

  // Still healthy and keep-alive capable afterwards.
  auto again = post("trailers");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "hello world");
}

}  // namespace
}  // namespace dpserve::testing
