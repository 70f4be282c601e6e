// Graceful shutdown: on SIGTERM the router refuses new connections, finishes what is in flight,
// then exits 0.
#include "integration/router/router_fixture.h"

#include <future>
#include <signal.h>

namespace dpserve::testing {
namespace {

TEST(RouterShutdown, SigtermDrainsRequestsInFlight) {
  TestWorker a("a");
  RouterProcess router({"--worker-urls", a.url(), "--shutdown-grace-period-secs", "30"}, 1);
  // A stream of 4 events 300 ms apart: still running when the signal comes.
  auto slow = std::async(std::launch::async, [&] {
    return router.post("/generate", R"({"text":"x"})",
                       {{"x-test-events", "4"}, {"x-test-delay-ms", "300"}});
  });
  ASSERT_TRUE(eventually([&] {
    auto r = router.get("/workers");
    return r.status == 200 && parse_json(r.body)["workers"][0]["load"] == 1;
  }));
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(router.process.pid(), SIGTERM), 0);
  // New connections are refused while the stream goes on.
  EXPECT_TRUE(
      eventually([&] { return router.get("/health").status == 0; }, std::chrono::seconds(2)));
  auto result = slow.get();
  EXPECT_EQ(result.status, 200) << result.error;
  // Every event and the end marker arrived: the stream was not cut by the shutdown.
  EXPECT_NE(result.body.find("data: [DONE]"), std::string::npos) << result.body;
  EXPECT_EQ(router.process.wait_exit(std::chrono::seconds(10)), 0) << router.process.output();
  // It left as soon as the stream was done, not at the end of the grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(10));
}

TEST(RouterShutdown, GracePeriodBoundsTheWait) {
  TestWorker a("a");
  RouterProcess router({"--worker-urls", a.url(), "--shutdown-grace-period-secs", "0.3"}, 1);
  auto hung = std::async(std::launch::async, [&] {
    return router.post("/generate", R"({"text":"x"})", {{"x-test-hang", "1"}});
  });
  ASSERT_TRUE(eventually([&] {
    auto r = router.get("/workers");
    return r.status == 200 && parse_json(r.body)["workers"][0]["load"] == 1;
  }));
  ASSERT_EQ(kill(router.process.pid(), SIGTERM), 0);
  EXPECT_EQ(router.process.wait_exit(std::chrono::seconds(5)), 0) << router.process.output();
  EXPECT_NE(hung.get().status, 200);
}

}  // namespace
}  // namespace dpserve::testing
