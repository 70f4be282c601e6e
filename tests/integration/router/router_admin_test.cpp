// Info, health and worker-management endpoints, API keys, DP-aware routing and CLI validation.
#include "integration/router/router_fixture.h"

#include <atomic>
#include <set>

namespace dpserve::testing {
namespace {

TEST(RouterInfo, ProbesModelsLoadsAndFlush) {
  TestWorker a("a");
  TestWorker b("b");
  RouterProcess router({"--worker-urls", a.url(), b.url()}, 2);
  EXPECT_EQ(router.get("/health").status, 200);
  EXPECT_EQ(router.get("/liveness").status, 200);
  auto ready = router.get("/readiness");
  ASSERT_EQ(ready.status, 200);
  EXPECT_EQ(parse_json(ready.body)["healthy_workers"], 2);
  auto models = parse_json(router.get("/v1/models").body);
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "test-model");
  auto model_info = router.get("/get_model_info");
  ASSERT_EQ(model_info.status, 200);
  EXPECT_EQ(parse_json(model_info.body)["model_path"], "/models/test-model");
  auto server_info = router.get("/get_server_info");
  ASSERT_EQ(server_info.status, 200) << server_info.error;
  EXPECT_EQ(parse_json(server_info.body)["dp_size"], 1);
  auto generate = router.get("/health_generate");
  EXPECT_EQ(generate.status, 200) << generate.body;
  // The one-token generation really went to a worker.
  int served = 0;
  for (auto* w : {&a, &b}) {
    served += parse_json(http_request(w->port, "GET", "/stats").body)["requests"].get<int>();
  }
  EXPECT_EQ(served, 1);
  auto loads = parse_json(router.get("/get_loads").body);
  ASSERT_EQ(loads["workers"].size(), 2u);
  for (const auto& w : loads["workers"]) EXPECT_EQ(w["load"], 7);
  auto flush = router.post("/flush_cache", "");
  ASSERT_EQ(flush.status, 200) << flush.body;
  EXPECT_EQ(parse_json(flush.body)["workers_flushed"], 2);
}

TEST(RouterPolicy, StatsShowTheTreeAndResetClearsIt) {
  TestWorker a("a");
  RouterProcess router({"--worker-urls", a.url()}, 1);
  const std::string prompt = R"({"text":"a shared system prompt followed by a question"})";
  ASSERT_EQ(router.post("/generate", prompt).status, 200);
  auto stats = router.get("/policy/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  auto before = parse_json(stats.body);
  EXPECT_EQ(before["policy"], "cache_aware");
  ASSERT_EQ(before["trees"].size(), 1u);
  EXPECT_GT(before["trees"][0]["stored_units"].get<int64_t>(), 0);
  ASSERT_EQ(router.post("/policy/reset", "").status, 200);
  auto after = parse_json(router.get("/policy/stats").body);
  for (const auto& tree : after["trees"]) EXPECT_EQ(tree["stored_units"], 0);
  EXPECT_EQ(after["input_units"], 0);
}

TEST(RouterInfo, NoWorkersMeansNotReady) {
  RouterProcess router({});
  EXPECT_EQ(router.get("/health").status, 200);
  EXPECT_EQ(router.get("/readiness").status, 503);
  expect_json_error(router.get("/v1/models"), 503, "no_available_workers");
  expect_json_error(router.get("/health_generate"), 503, "no_available_workers");
  expect_json_error(router.post("/generate", R"({"text":"x"})"), 503, "no_available_workers");
}

TEST(RouterInfo, DeadWorkerFailsOverThenReports502) {
  TestWorker a("a");
  auto b = std::make_unique<TestWorker>("b");
  RouterProcess router({"--worker-urls", a.url(), b->url()}, 2);
  b.reset();  // b dies after registration
  for (int i = 0; i < 4; ++i) {
    auto result = router.post("/generate", R"({"text":"x"})");
    ASSERT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(parse_json(result.body)["worker"], "a");
  }
  a.process.stop();
  expect_json_error(router.post("/generate", R"({"text":"x"})"), 502, "upstream_unavailable");
  EXPECT_EQ(router.get("/health").status, 200);
}

TEST(RouterAuth, ApiKeyIsRequiredAndPassedToWorkers) {
  TestWorker a("a", "test-model", 1, "secret");
  RouterProcess router({"--worker-urls", a.url(), "--api-key", "secret"}, 1, "secret");
  Headers good = {{"Authorization", "Bearer secret"}};
  expect_json_error(router.post("/generate", R"({"text":"x"})"), 401, "unauthorized");
  expect_json_error(router.post("/generate", R"({"text":"x"})", {{"Authorization", "Bearer nope"}}),
                    401, "unauthorized");
  expect_json_error(router.get("/workers"), 401, "unauthorized");
  expect_json_error(router.post("/flush_cache", ""), 401, "unauthorized");
  auto ok = router.post("/generate", R"({"text":"x"})", good);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(parse_json(ok.body)["headers"]["authorization"], "Bearer secret");
  EXPECT_EQ(router.get("/health").status, 200);
  EXPECT_EQ(router.get("/v1/models").status, 200);
  EXPECT_EQ(router.get("/get_loads", good).status, 200);
  EXPECT_EQ(router.post("/flush_cache", "", good).status, 200);
}

TEST(RouterWorkers, AddInspectAndRemove) {
  TestWorker a("a");
  TestWorker b("b");
  RouterProcess router({"--worker-urls", a.url()}, 1);
  expect_json_error(router.post("/workers", R"({"url":"ftp://x"})"), 400, "invalid_url");
  expect_json_error(router.post("/workers", R"({"url":"http://h:1","priority":3})"), 400,
                    "invalid_request");
  expect_json_error(router.post("/workers", "{\"url\":\"" + a.url() + "\"}"), 409, "worker_exists");
  auto added = router.post("/workers", "{\"url\":\"" + b.url() + "\"}");
  ASSERT_EQ(added.status, 202) << added.body;
  auto id = parse_json(added.body)["worker_id"].get<std::string>();
  EXPECT_EQ(added.header("location"), "/workers/" + id);
  ASSERT_TRUE(eventually(
      [&] { return parse_json(router.get("/workers/" + id).body)["job_status"] == "active"; }));
  auto workers = parse_json(router.get("/workers").body);
  ASSERT_EQ(workers["total"], 2);
  std::string b_worker_id;
  for (const auto& w : workers["workers"]) {
    if (w["url"] == b.url()) b_worker_id = w["id"];
  }
  ASSERT_EQ(b_worker_id, id);
  auto one = parse_json(router.get("/workers/" + id).body);
  EXPECT_EQ(one["url"], b.url());
  EXPECT_EQ(one["model_id"], "test-model");
  EXPECT_EQ(router.http_delete("/workers/" + id).status, 202);
  ASSERT_TRUE(eventually([&] { return parse_json(router.get("/workers").body)["total"] == 1; }));
  // The registration record stays, the worker is gone.
  EXPECT_EQ(parse_json(router.get("/workers/" + id).body)["workers"].size(), 0u);
}

TEST(RouterWorkers, LegacyEndpoints) {
  TestWorker a("a");
  RouterProcess router({});
  auto added = router.post("/add_worker?url=" + a.url(), "");
  ASSERT_EQ(added.status, 200) << added.body;
  auto list = parse_json(router.get("/list_workers").body);
  ASSERT_EQ(list["urls"].size(), 1u);
  EXPECT_EQ(list["urls"][0], a.url());
  EXPECT_EQ(router.post("/generate", R"({"text":"x"})").status, 200);
  EXPECT_EQ(router.post("/remove_worker?url=" + a.url(), "").status, 200);
  EXPECT_EQ(parse_json(router.get("/list_workers").body)["urls"].size(), 0u);
  expect_json_error(router.post("/remove_worker?url=" + a.url(), ""), 404, "worker_not_found");
  expect_json_error(router.post("/add_worker?url=http://127.0.0.1:1", ""), 400, "worker_not_added");
}

TEST(RouterWorkers, AddAndRemoveUnderLoadLosesNothing) {
  TestWorker a("a");
  TestWorker b("b");
  TestWorker c("c");
  RouterProcess router({"--worker-urls", a.url(), b.url()}, 2);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      HttpConnection connection(router.port);
      while (!stop) {
        auto r = connection.request("POST", "/generate", R"({"text":"load"})", {},
                                    std::chrono::seconds(10));
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  auto wait_ok = [&](int more) {
    int target = ok + more;
    EXPECT_TRUE(eventually([&] { return ok >= target; }));
  };
  wait_ok(50);
  auto added = router.post("/workers", "{\"url\":\"" + c.url() + "\"}");
  ASSERT_EQ(added.status, 202);
  ASSERT_TRUE(eventually([&] { return parse_json(router.get("/workers").body)["total"] == 3; }));
  wait_ok(50);
  // Remove a (draining), then b through the legacy call; c keeps serving.
  std::string a_id;
  auto listed = parse_json(router.get("/workers").body);
  for (const auto& w : listed["workers"]) {
    if (w["url"] == a.url()) a_id = w["id"];
  }
  EXPECT_EQ(router.http_delete("/workers/" + a_id).status, 202);
  wait_ok(50);
  EXPECT_EQ(router.post("/remove_worker?url=" + b.url(), "").status, 200);
  wait_ok(50);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  auto workers = parse_json(router.get("/workers").body)["workers"];
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0]["url"], c.url());
  // The router drops a request's load after its last write completes, which can be a moment after
  // the client has read the whole answer: the load must return to 0, not be 0 at once.
  EXPECT_TRUE(eventually([&] {
    auto now = parse_json(router.get("/workers").body)["workers"];
    return now.size() == 1u && now[0]["load"] == 0;
  })) << router.get("/workers").body;
}

TEST(RouterDpAware, OneWorkerPerRankAndRankSpliced) {
  TestWorker a("a", "dp-model", 2);
  RouterProcess router({"--worker-urls", a.url(), "--dp-aware", "--policy", "round_robin"}, 2);
  auto workers = parse_json(router.get("/workers").body)["workers"];
  ASSERT_EQ(workers.size(), 2u);
  std::set<std::string> urls;
  for (const auto& w : workers) urls.insert(w["url"].get<std::string>());
  EXPECT_EQ(urls, (std::set<std::string>{a.url() + "@0", a.url() + "@1"}));
  std::set<int> ranks;
  for (int i = 0; i < 4; ++i) {
    std::string body = R"({"text":"x","extra":[1,{}]})";
    auto result = router.post("/generate", body);
    ASSERT_EQ(result.status, 200);
    auto sent = parse_json(result.body)["body"].get<std::string>();
    auto parsed = parse_json(sent);
    ASSERT_TRUE(parsed.is_object()) << sent;
    EXPECT_EQ(parsed["routed_dp_rank"], parsed["data_parallel_rank"]);
    ranks.insert(parsed["routed_dp_rank"].get<int>());
    // The client's bytes follow the spliced fields unchanged.
    EXPECT_NE(sent.find(body.substr(1)), std::string::npos) << sent;
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
  auto empty = router.post("/generate", "{}");
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(parse_json(parse_json(empty.body)["body"].get<std::string>()).is_object());
  auto loads = parse_json(router.get("/get_loads").body)["workers"];
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0]["load"], 7);
}

TEST(RouterCli, BadFlagsAreRejectedByName) {
  const CliCase cases[] = {
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--policy", "fastest"}, "--policy"},
      {{"--port", "70000"}, "--port"},
      {{"--worker-urls", "ftp://x:1"}, "--worker-urls"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--request-timeout-secs", "0"}, "--request-timeout-secs"},
      {{"--max-payload-size", "-5"}, "--max-payload-size"},
      {{"--cache-threshold", "2", "--policy", "cache_aware"}, "--cache-threshold"},
      {{"--port", "abc"}, "--port"},
      {{"--shutdown-grace-period-secs", "-1"}, "--shutdown-grace-period-secs"},
  };
  for (const auto& c : cases) expect_rejected(c);
  Process help({DPSERVE_BIN, "router", "--help"});
  EXPECT_EQ(help.wait_exit(), 0);
  EXPECT_NE(help.output().find("--worker-urls"), std::string::npos);
}

}  // namespace
}  // namespace dpserve::testing
