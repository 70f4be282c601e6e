// The proxy path: forwarding, streaming, errors and cancellation through a real router.
#include "integration/router/router_fixture.h"

#include <set>

namespace dpserve::testing {
namespace {

class RouterProxy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = new TestWorker("a");
    b_ = new TestWorker("b");
    router_ = new RouterProcess({"--worker-urls", a_->url(), b_->url(), "--policy", "round_robin",
                                 "--max-payload-size", "65536"},
                                2);
  }
  static void TearDownTestSuite() {
    delete router_;
    delete a_;
    delete b_;
  }
  static TestWorker* a_;
  static TestWorker* b_;
  static RouterProcess* router_;
};

TestWorker* RouterProxy::a_ = nullptr;
TestWorker* RouterProxy::b_ = nullptr;
RouterProcess* RouterProxy::router_ = nullptr;

TEST_F(RouterProxy, UnknownFieldsSurviveByteForByte) {
  // Odd spacing, escapes, non-ASCII and fields no schema knows must reach the worker unchanged.
  std::string body =
      "{ \"text\" : \"h\\u00e9llo \\\"w\\\"\",\"x_unknown\":{\"deep\":[1,2.50,null]},"
      "\"sampling_params\":{\"max_new_tokens\":3},  \"z\":\"\xc3\xa9\" }";
  auto result = router_->post("/generate", body);
  ASSERT_EQ(result.status, 200) << result.body << result.error;
  auto echo = parse_json(result.body);
  EXPECT_EQ(echo["body"], body);
  EXPECT_EQ(echo["path"], "/generate");
}

TEST_F(RouterProxy, RequestIdIsTakenOrGeneratedAndForwarded) {
  auto given = router_->post("/generate", R"({"text":"x"})", {{"X-Request-Id", "my-id-42"}});
  ASSERT_EQ(given.status, 200);
  EXPECT_EQ(given.header("x-request-id"), "my-id-42");
  EXPECT_EQ(parse_json(given.body)["headers"]["x-request-id"], "my-id-42");
  auto generated = router_->post("/generate", R"({"text":"x"})");
  ASSERT_EQ(generated.status, 200);
  auto id = generated.header("x-request-id");
  EXPECT_EQ(id.rfind("gnt-", 0), 0u) << id;
  EXPECT_EQ(parse_json(generated.body)["headers"]["x-request-id"], id);
  auto chat = router_->post("/v1/chat/completions", R"({"messages":[]})");
  EXPECT_EQ(chat.header("x-request-id").rfind("chatcmpl-", 0), 0u);
  EXPECT_FALSE(router_->get("/nope").header("x-request-id").empty());
}

TEST_F(RouterProxy, ClientHeadersReachTheWorker) {
  auto result = router_->post("/generate", R"({"text":"x"})", {{"X-Custom", "v1"}});
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(parse_json(result.body)["headers"]["x-custom"], "v1");
}

TEST_F(RouterProxy, EveryInferenceRouteIsForwarded) {
  const std::pair<std::string, std::string> routes[] = {
      {"/generate", R"({"input_ids":[1,2,3]})"},
      {"/v1/completions", R"({"model":"test-model","prompt":["a","b"]})"},
      {"/v1/chat/completions",
       R"({"model":"test-model","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]})"},
      {"/v1/embeddings", R"({"input":"embed me"})"},
  };
  for (const auto& [path, body] : routes) {
    auto result = router_->post(path + "?q=1", body);
    ASSERT_EQ(result.status, 200) << path << " " << result.body;
    auto echo = parse_json(result.body);
    EXPECT_EQ(echo["path"], path + "?q=1");
    EXPECT_EQ(echo["body"], body);
  }
}

TEST_F(RouterProxy, RoundRobinUsesBothWorkers) {
  std::set<std::string> seen;
  HttpConnection connection(router_->port);
  for (int i = 0; i < 6; ++i) {
    auto result = connection.request("POST", "/generate", R"({"text":"x"})");
    ASSERT_EQ(result.status, 200);
    seen.insert(parse_json(result.body)["worker"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
}

TEST_F(RouterProxy, FirstEventArrivesWhileUpstreamHoldsTheSecond) {
  HttpConnection connection(router_->port);
  auto head = connection.start("POST", "/generate", R"({"text":"x","stream":true})",
                               {{"x-test-events", "3"}, {"x-test-hold", "1"}});
  ASSERT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.header("content-type"), "text/event-stream");
  std::string received;
  while (received.find("\n\n") == std::string::npos) {
    auto bytes = connection.read_some(std::chrono::seconds(5));
    ASSERT_TRUE(bytes.has_value()) << "first event did not arrive while the worker held the rest";
    ASSERT_FALSE(bytes->empty()) << "stream ended early";
    received += *bytes;
  }
  EXPECT_NE(received.find("\"index\":0"), std::string::npos) << received;
  EXPECT_EQ(received.find("\"index\":1"), std::string::npos) << received;
  // Only now does the worker let the rest go.
  for (auto* worker : {a_, b_})
    EXPECT_EQ(http_request(worker->port, "POST", "/release").status, 200);
  for (;;) {
    auto bytes = connection.read_some(std::chrono::seconds(5));
    ASSERT_TRUE(bytes.has_value());
    if (bytes->empty()) break;
    received += *bytes;
  }
  EXPECT_NE(received.find("\"index\":2"), std::string::npos) << received;
  EXPECT_NE(received.find("data: [DONE]"), std::string::npos) << received;
}

TEST_F(RouterProxy, StreamWithDelaysIsComplete) {
  auto result = router_->post("/v1/chat/completions", R"({"messages":[],"stream":true})",
                              {{"x-test-events", "5"}, {"x-test-delay-ms", "5"}});
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.header("transfer-encoding"), "chunked");
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(result.body.find("\"index\":" + std::to_string(i)), std::string::npos);
  }
}

TEST_F(RouterProxy, WorkerErrorsPassThrough) {
  auto result = router_->post("/generate", R"({"text":"x"})", {{"x-test-status", "500"}});
  EXPECT_EQ(result.status, 500);
  EXPECT_NE(result.body.find("test_failure"), std::string::npos);
}

TEST_F(RouterProxy, BadRequestsGetJsonErrors) {
  expect_json_error(router_->post("/generate", "{\"text\": \"x\""), 400, "invalid_request");
  expect_json_error(router_->post("/generate", "[1,2]"), 400, "invalid_request");
  expect_json_error(router_->post("/generate", R"({"text":"x","stream":"yes"})"), 400,
                    "invalid_request");
  expect_json_error(router_->post("/generate", R"({"text":5})"), 400, "invalid_request");
  expect_json_error(router_->post("/v1/chat/completions", R"({"messages":"hi"})"), 400,
                    "invalid_request");
  expect_json_error(router_->post("/generate", R"({"model":7})"), 400, "invalid_request");
  expect_json_error(router_->post("/generate", R"({"text":"x"} trailing)"), 400, "invalid_request");
  expect_json_error(router_->get("/no/such/path"), 404, "not_found");
  auto wrong_method = router_->get("/generate");
  expect_json_error(wrong_method, 405, "method_not_allowed");
  EXPECT_EQ(wrong_method.header("allow"), "POST");
  expect_json_error(router_->post("/generate", std::string(70000, ' ')), 413, "payload_too_large");
}

TEST_F(RouterProxy, ClientDisconnectCancelsUpstreamAndReleasesLoad) {
  auto cancelled = [](TestWorker* w) {
    return parse_json(http_request(w->port, "GET", "/stats").body)["cancelled"].get<int>();
  };
  int before = cancelled(a_) + cancelled(b_);
  {
    HttpConnection connection(router_->port);
    auto result = connection.request("POST", "/generate", R"({"text":"x"})", {{"x-test-hang", "1"}},
                                     std::chrono::milliseconds(300));
    EXPECT_EQ(result.status, 0);
  }
  EXPECT_TRUE(eventually([&] { return cancelled(a_) + cancelled(b_) == before + 1; }));
  EXPECT_TRUE(eventually([&] {
    auto workers = parse_json(router_->get("/workers").body)["workers"];
    for (const auto& w : workers) {
      if (w["load"] != 0) return false;
    }
    return true;
  }));
}

TEST_F(RouterProxy, WorkerClosingMidStreamTruncatesWithoutHarm) {
  HttpConnection connection(router_->port);
  auto head = connection.start("POST", "/generate", R"({"text":"x"})",
                               {{"x-test-events", "3"}, {"x-test-close-mid", "1"}});
  ASSERT_EQ(head.status, 200);
  std::string received;
  for (;;) {
    auto bytes = connection.read_some(std::chrono::seconds(5));
    ASSERT_TRUE(bytes.has_value());
    if (bytes->empty()) break;
    received += *bytes;
  }
  EXPECT_EQ(received.find("[DONE]"), std::string::npos);
  EXPECT_EQ(router_->post("/generate", R"({"text":"x"})").status, 200);
}

TEST_F(RouterProxy, WorkerClosingBeforeAnswerIsRetriedOrReported) {
  // x-test-close makes every worker drop the request: after trying both the router says 502.
  auto result = router_->post("/generate", R"({"text":"x"})", {{"x-test-close", "1"}});
  expect_json_error(result, 502, "upstream_unavailable");
  EXPECT_EQ(router_->post("/generate", R"({"text":"x"})").status, 200);
}

TEST_F(RouterProxy, ClientThatNeverReadsDoesNotHurtOthers) {
  {
    HttpConnection slow(router_->port);
    auto head = slow.start("POST", "/generate", R"({"text":"x"})",
                           {{"x-test-events", "2000"}, {"x-test-delay-ms", "0"}});
    ASSERT_EQ(head.status, 200);
    // Read nothing; meanwhile the router keeps serving others.
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(router_->post("/generate", R"({"text":"y"})").status, 200);
  }
  EXPECT_EQ(router_->get("/health").status, 200);
}

}  // namespace
}  // namespace dpserve::testing
