// /v1/completions and /v1/chat/completions, whole and streamed, with usage and cached tokens.
#include "integration/engine/engine_fixture.h"

namespace dpserve::testing {
namespace {

class OpenAiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine_ = new Engine({"--max-total-tokens", "8192", "--served-model-name", "tiny"});
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static Engine* engine_;
};

Engine* OpenAiTest::engine_ = nullptr;

json chat_body(const std::string& content, int max_tokens) {
  return json{{"model", "tiny"},
              {"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                        {{"role", "user"}, {"content", content}}})},
              {"max_tokens", max_tokens},
              {"temperature", 0}};
}

TEST_F(OpenAiTest, CompletionMatchesGenerate) {
  json out = engine_->post_ok(
      "/v1/completions",
      {{"model", "tiny"}, {"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0}});
  EXPECT_EQ(out["object"], "text_completion");
  EXPECT_EQ(out["model"], "tiny");
  EXPECT_EQ(out["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(out["choices"].size(), 1u);
  EXPECT_EQ(out["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(out["usage"]["completion_tokens"], 6);
  EXPECT_EQ(out["usage"]["total_tokens"].get<int>(), out["usage"]["prompt_tokens"].get<int>() + 6);
  EXPECT_TRUE(out["usage"]["prompt_tokens_details"]["cached_tokens"].is_number_integer());
  json native = engine_->post_ok(
      "/generate", {{"text", "Once upon a time"},
                    {"sampling_params", {{"temperature", 0}, {"max_new_tokens", 6}}}});
  EXPECT_EQ(out["choices"][0]["text"], native["text"]);
}

TEST_F(OpenAiTest, CompletionDefaultsTo16TokensAndReportsCache) {
  auto ids = prompt_ids(60, 80);
  json first = engine_->post_ok("/v1/completions", {{"prompt", ids}, {"temperature", 0}});
  EXPECT_EQ(first["usage"]["completion_tokens"], 16);
  json second = engine_->post_ok("/v1/completions", {{"prompt", ids}, {"temperature", 0}});
  EXPECT_GT(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
  EXPECT_EQ(first["choices"][0]["text"], second["choices"][0]["text"]);
}

TEST_F(OpenAiTest, StreamedCompletionWithUsage) {
  json body = {{"prompt", "abc"},
               {"max_tokens", 5},
               {"temperature", 0},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  auto events = engine_->stream("/v1/completions", body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 5);
  EXPECT_TRUE(usage["usage"]["prompt_tokens_details"]["cached_tokens"].is_number_integer());
  std::string text;
  std::string finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    json chunk = json::parse(events[i]);
    ASSERT_EQ(chunk["choices"].size(), 1u) << chunk;
    text += chunk["choices"][0]["text"].get<std::string>();
    if (!chunk["choices"][0]["finish_reason"].is_null())
      finish = chunk["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(finish, "length");
  body.erase("stream");
  body.erase("stream_options");
  EXPECT_EQ(engine_->post_ok("/v1/completions", body)["choices"][0]["text"], text);
}

TEST_F(OpenAiTest, ChatCompletion) {
  json out = engine_->post_ok("/v1/chat/completions", chat_body("Hi!", 7));
  EXPECT_EQ(out["object"], "chat.completion");
  EXPECT_EQ(out["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(out["choices"][0]["message"]["content"].is_string());
  EXPECT_EQ(out["usage"]["completion_tokens"], 7);
  // The rendered template makes the prompt longer than the two messages' words.
  EXPECT_GT(out["usage"]["prompt_tokens"].get<int>(), 8);
  json again = engine_->post_ok("/v1/chat/completions", chat_body("Hi!", 7));
  EXPECT_EQ(again["choices"][0]["message"]["content"], out["choices"][0]["message"]["content"]);
  EXPECT_GT(again["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
}

TEST_F(OpenAiTest, StreamedChatMatchesWhole) {
  json whole = engine_->post_ok("/v1/chat/completions", chat_body("Tell me more", 6));
  json body = chat_body("Tell me more", 6);
  body["stream"] = true;
  auto events = engine_->stream("/v1/chat/completions", body);
  ASSERT_GE(events.size(), 3u);
  json first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string content;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json chunk = json::parse(events[i]);
    const json& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content")) content += delta["content"].get<std::string>();
  }
  EXPECT_EQ(content, whole["choices"][0]["message"]["content"]);
  json last = json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
}

TEST_F(OpenAiTest, ChatLogprobsAndN) {
  json body = chat_body("Hi", 3);
  body["logprobs"] = true;
  body["top_logprobs"] = 2;
  body["n"] = 2;
  body["temperature"] = 0.8;
  body["seed"] = 7;
  json out = engine_->post_ok("/v1/chat/completions", body);
  ASSERT_EQ(out["choices"].size(), 2u);
  const json& content = out["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_LE(content[0]["logprob"].get<double>(), 0.0);
  EXPECT_EQ(out["usage"]["completion_tokens"], 6);
}

TEST_F(OpenAiTest, ModelsList) {
  json models = engine_->get_ok("/v1/models");
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "tiny");
}

}  // namespace
}  // namespace dpserve::testing
