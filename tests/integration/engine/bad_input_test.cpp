// Bad requests get a 400 that says why, and the engine keeps serving.
#include "integration/engine/engine_fixture.h"

namespace dpserve::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = new Engine({"--max-total-tokens", "4096", "--context-length", "256"});
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  // Expects a 400 whose message contains `why`.
  static void expect_400(const std::string& path, const std::string& body, const std::string& why) {
    HttpResult r =
        http_request(engine_->port(), "POST", path, body, {{"content-type", "application/json"}});
    EXPECT_EQ(r.status, 400) << path << " " << body << " -> " << r.body;
    json error = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(error.is_object()) << r.body;
    EXPECT_NE(error["error"]["message"].get<std::string>().find(why), std::string::npos) << r.body;
  }
  static Engine* engine_;
};

Engine* BadInputTest::engine_ = nullptr;

TEST_F(BadInputTest, MalformedJson) {
  expect_400("/generate", "{\"text\": ", "malformed JSON");
  expect_400("/v1/completions", "not json", "malformed JSON");
  expect_400("/v1/chat/completions", "[1,", "malformed JSON");
}

TEST_F(BadInputTest, PromptLongerThanContext) {
  expect_400("/generate", greedy_ids(prompt_ids(1, 300), 4).dump(), "context length");
  json completion = {{"prompt", prompt_ids(1, 300)}, {"max_tokens", 4}};
  expect_400("/v1/completions", completion.dump(), "context length");
}

TEST_F(BadInputTest, NegativeMaxTokens) {
  expect_400("/generate", greedy_ids({1, 2, 3}, -1).dump(), "max_new_tokens");
  expect_400("/v1/completions", json({{"prompt", "hi"}, {"max_tokens", -5}}).dump(), "max_tokens");
}

TEST_F(BadInputTest, UnknownModel) {
  expect_400("/v1/completions", json({{"model", "gpt-9"}, {"prompt", "hi"}}).dump(), "gpt-9");
  json chat = {{"model", "gpt-9"},
               {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  expect_400("/v1/chat/completions", chat.dump(), "gpt-9");
}

TEST_F(BadInputTest, WrongTypesAndUnknownFields) {
  json body = greedy_ids({1, 2, 3}, 4);
  body["sampling_params"]["temperature"] = "hot";
  expect_400("/generate", body.dump(), "sampling_params.temperature");
  body = greedy_ids({1, 2, 3}, 4);
  body["sampling_params"]["warmth"] = 1;
  expect_400("/generate", body.dump(), "unknown field sampling_params.warmth");
  body = greedy_ids({1, 2, 3}, 4);
  body["sampling_params"]["top_p"] = 1.5;
  expect_400("/generate", body.dump(), "top_p");
  expect_400("/generate", json({{"input_ids", {1, -2}}}).dump(), "input_ids");
  expect_400("/generate", json({{"input_ids", {1, 100000}}}).dump(), "vocabulary");
  expect_400("/generate", json({{"text", "a"}, {"input_ids", {1}}}).dump(), "exactly one");
  expect_400("/generate", json::object().dump(), "exactly one");
  expect_400("/generate", json({{"text", "a"}, {"sampling_params", {{"regex", "a+"}}}}).dump(),
             "not supported");
  expect_400("/v1/chat/completions", json({{"messages", "hi"}}).dump(), "messages");
  expect_400("/tokenize", json({{"text", 5}}).dump(), "text");
}

TEST_F(BadInputTest, DpRankOutOfRange) {
  json body = greedy_ids({1, 2, 3}, 2);
  body["routed_dp_rank"] = 3;
  expect_400("/generate", body.dump(), "out of range");
  HttpResult r =
      engine_->post("/generate", greedy_ids({1, 2, 3}, 2), {{"X-Data-Parallel-Rank", "1"}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(BadInputTest, UnknownPathsAndMethods) {
  EXPECT_EQ(engine_->get("/nope").status, 404);
  EXPECT_EQ(engine_->get("/generate").status, 405);
  // Still serving after all of the above.
  json ok = engine_->post_ok("/generate", greedy_ids({1, 2, 3}, 2));
  EXPECT_EQ(ok["meta_info"]["completion_tokens"], 2);
}

TEST(EngineApiKey, RequiredWhenSet) {
  Engine engine({"--api-key", "sekrit", "--max-total-tokens", "2048"});
  EXPECT_EQ(engine.get("/get_server_info").status, 401);
  EXPECT_EQ(engine.post("/generate", greedy_ids({1, 2}, 2)).status, 401);
  EXPECT_EQ(engine.get("/health").status, 200);
  EXPECT_EQ(engine.get("/get_server_info", {{"Authorization", "Bearer sekrit"}}).status, 200);
}

}  // namespace
}  // namespace dpserve::testing
