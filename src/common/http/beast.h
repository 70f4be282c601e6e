// Boost.Beast/Asio includes and the short aliases used by dpserve's HTTP code. Include this only
// from the few translation units that run sockets (compile time, cpp-craft.md 2.8).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <string_view>

namespace dpserve::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// Errors come back as values, never as exceptions (cpp-craft.md 2.7). `deferred` rather than
// `use_awaitable`: co_await on a deferred operation resumes the coroutine straight from the
// completion handler, where use_awaitable allocates a coroutine frame per operation.
inline constexpr auto kUse = net::as_tuple(net::deferred);

using Response = bhttp::response<bhttp::string_body>;

// The readable bytes of a read buffer.
inline std::string_view view_of(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace dpserve::http
