// Active health checks: a worker failing its probes leaves routing after the failure threshold and
// returns after the success threshold; --disable-health-check; flag validation.
#include "integration/router/router_fixture.h"

namespace dpserve::testing {
namespace {

bool worker_healthy(const RouterProcess& router, const std::string& url) {
  auto result = router.get("/workers");
  if (result.status != 200) return false;
  auto listed = parse_json(result.body);
  for (const auto& w : listed["workers"]) {
    if (w["base_url"] == url) return w["is_healthy"].get<bool>();
  }
  return false;
}

bool all_healthy(const RouterProcess& router, const std::string& url, bool expected) {
  auto result = router.get("/workers");
  if (result.status != 200) return false;
  size_t seen = 0;
  auto listed = parse_json(result.body);
  for (const auto& w : listed["workers"]) {
    if (w["base_url"] != url) continue;
    ++seen;
    if (w["is_healthy"].get<bool>() != expected) return false;
  }
  return seen > 0;
}

void set_worker_health(const TestWorker& worker, bool healthy) {
  auto body = std::string(R"({"healthy":)") + (healthy ? "true" : "false") + "}";
  ASSERT_EQ(http_request(worker.port, "POST", "/set_health", body).status, 200);
}

int served_by(const TestWorker& worker) {
  return parse_json(http_request(worker.port, "GET", "/stats").body)["requests"].get<int>();
}

TEST(RouterHealthCheck, FailingWorkerLeavesRoutingAndComesBack) {
  TestWorker a("a");
  TestWorker b("b");
  RouterProcess router({"--worker-urls", a.url(), b.url(), "--policy", "round_robin",
                        "--health-check-interval-secs", "0.05", "--health-check-timeout-secs", "1",
                        "--health-failure-threshold", "3", "--health-success-threshold", "2"},
                       2);
  ASSERT_TRUE(eventually([&] { return worker_healthy(router, b.url()); }));
  set_worker_health(b, false);
  auto marked = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      eventually([&] { return !worker_healthy(router, b.url()); }, std::chrono::seconds(5)));
  // Three failed probes at 50 ms intervals cannot take less than ~100 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - marked, std::chrono::milliseconds(90));
  EXPECT_TRUE(worker_healthy(router, a.url()));
  // The unhealthy worker stays registered but gets no traffic.
  EXPECT_EQ(parse_json(router.get("/workers").body)["workers"].size(), 2u);
  auto ready = parse_json(router.get("/readiness").body);
  EXPECT_EQ(ready["healthy_workers"], 1);
  int before = served_by(b);
  for (int i = 0; i < 6; ++i) {
    auto result = router.post("/generate", R"({"text":"x"})");
    ASSERT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(parse_json(result.body)["worker"], "a");
  }
  EXPECT_EQ(served_by(b), before);

  set_worker_health(b, true);
  ASSERT_TRUE(eventually([&] { return worker_healthy(router, b.url()); }, std::chrono::seconds(5)));
  bool b_served = false;
  for (int i = 0; i < 4; ++i) {
    auto result = router.post("/generate", R"({"text":"x"})");
    ASSERT_EQ(result.status, 200) << result.body;
    b_served |= parse_json(result.body)["worker"] == "b";
  }
  EXPECT_TRUE(b_served);
}

TEST(RouterHealthCheck, DeadWorkerIsMarkedUnhealthy) {
  TestWorker a("a");
  auto b = std::make_unique<TestWorker>("b");
  std::string b_url = b->url();
  RouterProcess router({"--worker-urls", a.url(), b_url, "--health-check-interval-secs", "0.05",
                        "--health-check-timeout-secs", "0.5", "--health-failure-threshold", "2"},
                       2);
  b.reset();
  ASSERT_TRUE(eventually([&] { return !worker_healthy(router, b_url); }, std::chrono::seconds(5)));
  EXPECT_TRUE(worker_healthy(router, a.url()));
}

TEST(RouterHealthCheck, DpAwareRanksShareOneProbe) {
  TestWorker a("a", "dp-model", 2);
  RouterProcess router(
      {"--worker-urls", a.url(), "--dp-aware", "--health-check-interval-secs", "0.05",
       "--health-failure-threshold", "1", "--health-success-threshold", "1"},
      2);
  set_worker_health(a, false);
  ASSERT_TRUE(eventually([&] { return all_healthy(router, a.url(), false); }));
  expect_json_error(router.post("/generate", R"({"text":"x"})"), 503, "no_available_workers");
  set_worker_health(a, true);
  ASSERT_TRUE(eventually([&] { return all_healthy(router, a.url(), true); }));
  EXPECT_EQ(router.post("/generate", R"({"text":"x"})").status, 200);
}

TEST(RouterHealthCheck, CustomEndpointIsProbed) {
  TestWorker a("a");
  // The test worker answers 404 on unknown GET paths, so probing one marks it unhealthy.
  RouterProcess router(
      {"--worker-urls", a.url(), "--health-check-interval-secs", "0.05", "--health-check-endpoint",
       "/no_such_probe", "--health-failure-threshold", "1"},
      1);
  ASSERT_TRUE(eventually([&] { return !worker_healthy(router, a.url()); }));
}

TEST(RouterHealthCheck, DisabledKeepsWorkersHealthy) {
  TestWorker a("a");
  RouterProcess router({"--worker-urls", a.url(), "--disable-health-check",
                        "--health-check-interval-secs", "0.02", "--health-failure-threshold", "1"},
                       1);
  set_worker_health(a, false);
  // Probes would have flipped it many times over in this window; nothing may change.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(worker_healthy(router, a.url()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(router.post("/generate", R"({"text":"x"})").status, 200);
}

TEST(RouterHealthCheck, BadFlagsAreRejectedByName) {
  const CliCase cases[] = {
      {{"--health-check-interval-secs", "0"}, "--health-check-interval-secs"},
      {{"--health-check-interval-secs", "-1"}, "--health-check-interval-secs"},
      {{"--health-check-interval-secs", "abc"}, "--health-check-interval-secs"},
      {{"--health-check-timeout-secs", "0"}, "--health-check-timeout-secs"},
      {{"--health-failure-threshold", "0"}, "--health-failure-threshold"},
      {{"--health-success-threshold", "-2"}, "--health-success-threshold"},
      {{"--health-check-endpoint", "health"}, "--health-check-endpoint"},
      {{"--health-check-endpoint", "/a b"}, "--health-check-endpoint"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

}  // namespace
}  // namespace dpserve::testing
