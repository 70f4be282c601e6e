// Prometheus metrics of the router: the separate listener and /metrics on the main port.
#include "integration/router/router_fixture.h"

#include <regex>

namespace dpserve::testing {
namespace {

// The value of the first sample line starting with `series` (name plus labels), or -1.
double sample(const std::string& text, const std::string& series) {
  for (size_t at = 0; (at = text.find(series, at)) != std::string::npos; ++at) {
    if (at != 0 && text[at - 1] != '\n') continue;
    const size_t space = at + series.size();
    if (space >= text.size() || text[space] != ' ') continue;
    return std::stod(text.substr(space + 1, text.find('\n', space) - space - 1));
  }
  return -1;
}

int metrics_port(const std::string& output) {
  std::smatch m;
  static const std::regex re("metrics on http://[0-9.]+:([0-9]+)/metrics");
  return std::regex_search(output, m, re) ? std::stoi(m[1]) : 0;
}

TEST(RouterMetrics, CountsRequestsErrorsAndWorkers) {
  TestWorker a("a");
  TestWorker b("b");
  RouterProcess router({"--worker-urls", a.url(), b.url(), "--policy", "round_robin",
                        "--prometheus-port", "0", "--api-key", "k"},
                       2, "k");
  const Headers auth = {{"Authorization", "Bearer k"}};
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(router.post("/generate", R"({"text":"hello"})", auth).status, 200);
  }
  ASSERT_EQ(router.post("/v1/chat/completions", R"({"messages":[],"stream":true})", auth).status,
            200);
  expect_json_error(router.post("/generate", "{not json", auth), 400, "invalid_request");
  EXPECT_EQ(router.get("/no/such/path").status, 404);

  const int port = metrics_port(router.process.output());
  ASSERT_GT(port, 0) << router.process.output();
  auto scrape = http_request(port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.error;
  const std::string& text = scrape.body;
  EXPECT_EQ(sample(text, R"(smg_http_requests_total{method="POST",path="/generate"})"), 4) << text;
  EXPECT_EQ(sample(text, R"(smg_http_requests_total{method="other",path="other"})"), 1) << text;
  EXPECT_GE(sample(text, R"(smg_http_responses_total{status_code="200"})"), 4) << text;
  EXPECT_EQ(sample(text, R"(smg_http_responses_total{status_code="400"})"), 1) << text;
  EXPECT_EQ(sample(text, R"(smg_router_requests_total{endpoint="generate",streaming="false"})"), 4);
  EXPECT_EQ(sample(text, R"(smg_router_requests_total{endpoint="chat",streaming="true"})"), 1);
  EXPECT_EQ(
      sample(
          text,
          R"(smg_router_request_errors_total{endpoint="generate",error_type="invalid_request"})"),
      1)
      << text;
  EXPECT_EQ(sample(text, R"(smg_router_request_duration_seconds_count{endpoint="generate"})"), 3);
  EXPECT_EQ(sample(text, R"(smg_router_upstream_responses_total{status_code="200"})"), 4);
  EXPECT_EQ(sample(text, R"(smg_worker_pool_size{model="test-model"})"), 2);
  double selections = 0;
  for (const auto* w : {&a, &b}) {
    const std::string worker = "worker=\"" + w->url() + "\"";
    EXPECT_EQ(sample(text, "smg_worker_health{" + worker + "}"), 1) << text;
    EXPECT_EQ(sample(text, "smg_worker_requests_active{" + worker + "}"), 0) << text;
    const double n =
        sample(text, "smg_worker_selection_total{" + worker + ",policy=\"round_robin\"}");
    EXPECT_EQ(n, 2) << text;  // round robin over 4 requests
    selections += n;
  }
  EXPECT_EQ(selections, 4);
  EXPECT_GE(sample(text, "smg_http_connections_active"), 0);

  // The main port serves the same exposition, behind the API key; the metrics port only /metrics.
  EXPECT_EQ(router.get("/metrics").status, 401);
  auto main_port = router.get("/metrics", auth);
  ASSERT_EQ(main_port.status, 200);
  EXPECT_NE(main_port.body.find("smg_worker_pool_size"), std::string::npos);
  expect_json_error(http_request(port, "GET", "/generate"), 404, "not_found");
  // The dashboard page needs no key (it holds no data; its script sends the key it is given).
  auto page = router.get("/dashboard");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>dpserve router</title>"), std::string::npos);
  EXPECT_NE(page.body.find("/metrics"), std::string::npos);
  expect_json_error(http_request(port, "POST", "/metrics", "{}"), 405, "method_not_allowed");
}

TEST(RouterMetrics, CacheAwareExportsItsCounters) {
  TestWorker a("a");
  RouterProcess router({"--worker-urls", a.url()}, 1);
  ASSERT_EQ(router.post("/generate", R"({"text":"0123456789"})").status, 200);
  ASSERT_EQ(router.post("/generate", R"({"text":"0123456789"})").status, 200);
  auto scrape = router.get("/metrics");
  ASSERT_EQ(scrape.status, 200);
  const std::string& text = scrape.body;
  EXPECT_EQ(sample(text, R"(smg_router_cache_input_units_total{policy="cache_aware"})"), 20)
      << text;
  // The second request matched all of the first one's text.
  EXPECT_EQ(sample(text, R"(smg_router_cache_matched_units_total{policy="cache_aware"})"), 10);
  double decisions = 0;
  for (const char* branch : {"imbalanced", "cache_hit", "cache_miss"}) {
    decisions += sample(
        text, std::string(R"(smg_router_policy_decisions_total{policy="cache_aware",branch=")") +
                  branch + "\"}");
  }
  EXPECT_EQ(decisions, 2) << text;
}

TEST(RouterMetrics, RejectsBadPrometheusFlags) {
  const CliCase cases[] = {
      {{"--prometheus-port", "70000"}, "--prometheus-port"},
      {{"--prometheus-duration-buckets", "1", "0.5"}, "--prometheus-duration-buckets"},
      {{"--prometheus-duration-buckets", "-1"}, "--prometheus-duration-buckets"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

}  // namespace
}  // namespace dpserve::testing
