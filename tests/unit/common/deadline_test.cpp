// Deadlines checked by one ticker per io_context: expiry shuts the socket down, disarming prevents
// it, and the callback form fires once per arming.
#include "common/http/deadline.h"

#include <boost/asio/read.hpp>
#include <gtest/gtest.h>

#include <chrono>

namespace dpserve::http {
namespace {

using namespace std::chrono_literals;

// A connected pair of sockets on one io_context.
struct SocketPair {
  explicit SocketPair(net::io_context& context) : a(context), b(context) {
    tcp::acceptor acceptor(context, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
  }
  tcp::socket a;
  tcp::socket b;
};

TEST(Deadline, ExpiryFailsThePendingReadAsTimeout) {
  net::io_context context;
  SocketPair pair(context);
  Deadline deadline(pair.a);
  char byte;
  error_code result;
  bool done = false;
  auto start = std::chrono::steady_clock::now();
  deadline.expires_after(150ms);
  pair.a.async_read_some(net::buffer(&byte, 1), [&](error_code ec, size_t) {
    result = deadline.map(ec);
    done = true;
  });
  context.run_for(3s);
  ASSERT_TRUE(done);
  EXPECT_TRUE(deadline.expired());
  EXPECT_EQ(result, beast::error::timeout);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 150ms + 3 * kDeadlineTick);
  // Later operations fail at once: the socket is shut down.
  error_code later;
  pair.a.read_some(net::buffer(&byte, 1), later);
  EXPECT_TRUE(later);
}

TEST(Deadline, DisarmedOrRearmedLaterDoesNotFire) {
  net::io_context context;
  SocketPair pair(context);
  Deadline never(pair.a);
  never.expires_after(50ms);
  never.expires_never();
  Deadline pushed(pair.b);
  pushed.expires_after(50ms);
  pushed.expires_after(10s);  // moved out before the first tick
  context.run_for(400ms);
  EXPECT_FALSE(never.expired());
  EXPECT_FALSE(pushed.expired());
  EXPECT_EQ(never.map(error_code{}), error_code{});
  // Both sockets still work.
  net::write(pair.a, net::buffer("x", 1));
  char byte = 0;
  net::read(pair.b, net::buffer(&byte, 1));
  EXPECT_EQ(byte, 'x');
}

TEST(Deadline, CallbackFormFiresOncePerArming) {
  net::io_context context;
  SocketPair pair(context);
  int calls = 0;
  Deadline timer(
      pair.a, [](void* count) { ++*static_cast<int*>(count); }, &calls);
  timer.expires_after(10ms);
  context.run_for(400ms);
  context.restart();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(timer.expired());  // a callback deadline leaves the socket alone
  timer.expires_after(10ms);
  context.run_for(400ms);
  EXPECT_EQ(calls, 2);
  net::write(pair.a, net::buffer("y", 1));
  char byte = 0;
  net::read(pair.b, net::buffer(&byte, 1));
  EXPECT_EQ(byte, 'y');
}

}  // namespace
}  // namespace dpserve::http
