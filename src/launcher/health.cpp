#include "launcher/health.h"

#include "common/http/beast.h"
#include "common/http/client.h"

namespace dpserve::launcher {

bool http_ok(const std::string& host, int port, const std::string& path,
             std::chrono::milliseconds timeout) {
  std::string error;
  auto endpoint = http::parse_endpoint("http://" + host + ":" + std::to_string(port), error);
  if (!endpoint) return false;
  http::net::io_context io;
  bool ok = false;
  http::net::co_spawn(
      io,
      [&]() -> http::net::awaitable<void> {
        auto result =
            co_await http::fetch(*endpoint, http::bhttp::verb::get, path, "", "", timeout);
        ok = !result.ec && result.status == 200;
      },
      http::net::detached);
  io.run();
  // Pooled connections belong to this io_context: none may outlive it.
  http::ConnectionPool::local().forget(*endpoint);
  return ok;
}

bool port_is_free(const std::string& host, int port) {
  http::net::io_context io;
  http::error_code ec;
  auto address = http::net::ip::make_address(host, ec);
  if (ec) return false;
  http::tcp::acceptor acceptor(io);
  http::tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return false;
  acceptor.set_option(http::tcp::acceptor::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  return !ec;
}

int pick_free_port(const std::string& host) {
  http::net::io_context io;
  http::error_code ec;
  auto address = http::net::ip::make_address(host, ec);
  if (ec) return 0;
  http::tcp::acceptor acceptor(io);
  http::tcp::endpoint endpoint(address, 0);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) return 0;
  return acceptor.local_endpoint(ec).port();
}

}  // namespace dpserve::launcher
