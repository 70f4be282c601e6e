// /generate end to end against a real engine: greedy determinism, streaming, batching, prefix
// cache reporting, control endpoints.
#include "integration/engine/engine_fixture.h"

#include <future>
#include <thread>

namespace dpserve::testing {
namespace {

class GenerateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { engine_ = new Engine({"--max-total-tokens", "8192"}); }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static Engine* engine_;
};

Engine* GenerateTest::engine_ = nullptr;

TEST_F(GenerateTest, GreedyIsDeterministicAndReportsMetaInfo) {
  json body = greedy_ids(prompt_ids(1, 12), 8);
  json a = engine_->post_ok("/generate", body);
  json b = engine_->post_ok("/generate", body);
  ASSERT_TRUE(a.is_object()) << a;
  EXPECT_EQ(a["output_ids"], b["output_ids"]);
  EXPECT_EQ(a["text"], b["text"]);
  EXPECT_EQ(a["output_ids"].size(), 8u);
  const json& meta = a["meta_info"];
  EXPECT_EQ(meta["prompt_tokens"], 12);
  EXPECT_EQ(meta["completion_tokens"], 8);
  EXPECT_EQ(meta["finish_reason"]["type"], "length");
  EXPECT_EQ(meta["finish_reason"]["length"], 8);
  EXPECT_TRUE(meta["e2e_latency"].is_number());
  EXPECT_TRUE(meta["id"].is_string());
  EXPECT_TRUE(meta["cached_tokens"].is_number_integer());
}

TEST_F(GenerateTest, TextPromptAndRid) {
  json body = {{"text", "Hello there"},
               {"rid", "my-request-1"},
               {"sampling_params", {{"temperature", 0}, {"max_new_tokens", 4}}}};
  json out = engine_->post_ok("/generate", body);
  EXPECT_EQ(out["meta_info"]["id"], "my-request-1");
  EXPECT_EQ(out["meta_info"]["completion_tokens"], 4);
  EXPECT_GT(out["meta_info"]["prompt_tokens"].get<int>(), 1);
}

TEST_F(GenerateTest, StreamMatchesNonStream) {
  json body = greedy_ids(prompt_ids(2, 10), 6);
  json whole = engine_->post_ok("/generate", body);
  body["stream"] = true;
  auto events = engine_->stream("/generate", body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  json last = json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["text"], whole["text"]);
  EXPECT_EQ(last["output_ids"], whole["output_ids"]);
  EXPECT_EQ(last["meta_info"]["finish_reason"]["type"], "length");
  // Text is cumulative: every event extends the previous one.
  std::string previous;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json event = json::parse(events[i]);
    std::string text = event["text"];
    EXPECT_EQ(text.rfind(previous, 0), 0u) << "event " << i;
    previous = text;
    EXPECT_TRUE(event.contains("meta_info"));
  }
}

TEST_F(GenerateTest, PrefixCacheReportsCachedTokensAndKeepsOutput) {
  auto ids = prompt_ids(3, 96);
  json cold = engine_->post_ok("/generate", greedy_ids(ids, 8));
  json warm = engine_->post_ok("/generate", greedy_ids(ids, 8));
  EXPECT_EQ(cold["meta_info"]["cached_tokens"], 0);
  EXPECT_GT(warm["meta_info"]["cached_tokens"].get<int>(), 0);
  EXPECT_EQ(cold["output_ids"], warm["output_ids"]);
  // A different prompt sharing the first 64 tokens hits the shared prefix.
  auto other = ids;
  other.resize(64);
  auto tail = prompt_ids(4, 20);
  other.insert(other.end(), tail.begin(), tail.end());
  json shared = engine_->post_ok("/generate", greedy_ids(other, 4));
  EXPECT_GE(shared["meta_info"]["cached_tokens"].get<int>(), 60);
}

TEST_F(GenerateTest, BatchIsInvariantToConcurrency) {
  std::vector<json> alone;
  json batch = {{"input_ids", json::array()},
                {"sampling_params", {{"temperature", 0}, {"max_new_tokens", 6}}}};
  for (int i = 0; i < 16; ++i) {
    auto ids = prompt_ids(100 + i, 5 + i * 3);
    alone.push_back(engine_->post_ok("/generate", greedy_ids(ids, 6)));
    batch["input_ids"].push_back(ids);
  }
  ASSERT_EQ(engine_->post("/flush_cache", json::object()).status, 200);
  json together = engine_->post_ok("/generate", batch);
  ASSERT_TRUE(together.is_array());
  ASSERT_EQ(together.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(together[i]["output_ids"], alone[i]["output_ids"]) << "prompt " << i;
  }
}

TEST_F(GenerateTest, ParallelSamplesAndSeeds) {
  json body = {
      {"input_ids", prompt_ids(5, 8)},
      {"sampling_params", {{"temperature", 1.0}, {"max_new_tokens", 6}, {"n", 3}, {"seed", 42}}}};
  json a = engine_->post_ok("/generate", body);
  json b = engine_->post_ok("/generate", body);
  ASSERT_TRUE(a.is_array());
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(a[i]["output_ids"], b[i]["output_ids"]);
}

TEST_F(GenerateTest, StopTokenAndStopString) {
  json first = engine_->post_ok("/generate", greedy_ids(prompt_ids(6, 10), 8));
  const int stop_id = first["output_ids"][3];
  json body = greedy_ids(prompt_ids(6, 10), 8);
  body["sampling_params"]["stop_token_ids"] = {stop_id};
  json stopped = engine_->post_ok("/generate", body);
  EXPECT_EQ(stopped["meta_info"]["finish_reason"]["type"], "stop");
  EXPECT_EQ(stopped["meta_info"]["finish_reason"]["matched"], stop_id);
  EXPECT_LE(stopped["output_ids"].size(), 4u);

  // A stop string taken from the greedy text: the answer ends just before it.
  const std::string text = first["text"];
  ASSERT_GE(text.size(), 4u);
  const std::string stop = text.substr(text.size() / 2, 2);
  json body2 = greedy_ids(prompt_ids(6, 10), 8);
  body2["sampling_params"]["stop"] = stop;
  json cut = engine_->post_ok("/generate", body2);
  EXPECT_EQ(cut["meta_info"]["finish_reason"]["type"], "stop");
  EXPECT_EQ(cut["meta_info"]["finish_reason"]["matched"], stop);
  EXPECT_EQ(cut["text"], text.substr(0, text.find(stop)));
}

TEST_F(GenerateTest, Logprobs) {
  json body = greedy_ids(prompt_ids(7, 6), 4);
  body["return_logprob"] = true;
  body["top_logprobs_num"] = 3;
  json out = engine_->post_ok("/generate", body);
  const json& lp = out["meta_info"]["output_token_logprobs"];
  ASSERT_EQ(lp.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_LE(lp[i][0].get<double>(), 0.0);
    EXPECT_EQ(lp[i][1], out["output_ids"][i]);
    const json& top = out["meta_info"]["output_top_logprobs"][i];
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0][1], out["output_ids"][i]);  // greedy picks the most likely token
  }
}

TEST_F(GenerateTest, ServerInfoModelInfoLoadHealth) {
  json info = engine_->get_ok("/get_server_info");
  EXPECT_EQ(info["dp_size"], 1);
  EXPECT_EQ(info["max_total_num_tokens"], 8192);
  EXPECT_GT(info["kv_bytes_per_token"].get<int>(), 0);
  EXPECT_EQ(info["model_path"], tiny_model_dir());
  EXPECT_EQ(info["page_size"], 1);
  EXPECT_EQ(engine_->get_ok("/server_info")["dp_size"], 1);
  json model = engine_->get_ok("/get_model_info");
  EXPECT_EQ(model["model_path"], tiny_model_dir());
  EXPECT_EQ(model["is_generation"], true);
  json load = engine_->get_ok("/get_load");
  ASSERT_TRUE(load.is_array());
  ASSERT_EQ(load.size(), 1u);
  EXPECT_EQ(load[0]["dp_rank"], 0);
  EXPECT_TRUE(load[0]["num_reqs"].is_number_integer());
  EXPECT_TRUE(load[0]["num_tokens"].is_number_integer());
  EXPECT_EQ(engine_->get_ok("/v1/loads").size(), 1u);
  EXPECT_EQ(engine_->get("/health").status, 200);
  EXPECT_EQ(engine_->get("/health_generate").status, 200);
  json models = engine_->get_ok("/v1/models");
  EXPECT_EQ(models["data"][0]["id"], tiny_model_dir());
}

TEST_F(GenerateTest, TokenizeDetokenizeRoundTrip) {
  json tokens = engine_->post_ok("/tokenize", {{"text", "hello world"}});
  ASSERT_TRUE(tokens["tokens"].is_array());
  EXPECT_EQ(tokens["count"], tokens["tokens"].size());
  json text = engine_->post_ok("/detokenize", {{"tokens", tokens["tokens"]}});
  EXPECT_NE(text["text"].get<std::string>().find("hello world"), std::string::npos);
}

TEST_F(GenerateTest, FlushCacheDropsCachedPrefixes) {
  auto ids = prompt_ids(8, 40);
  engine_->post_ok("/generate", greedy_ids(ids, 2));
  EXPECT_EQ(engine_->post("/flush_cache", json::object()).status, 200);
  json again = engine_->post_ok("/generate", greedy_ids(ids, 2));
  EXPECT_EQ(again["meta_info"]["cached_tokens"], 0);
}

TEST_F(GenerateTest, MetricsUseSglangNames) {
  engine_->post_ok("/generate", greedy_ids(prompt_ids(9, 5), 3));
  HttpResult metrics = engine_->get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (const char* name :
       {"sglang:cache_hit_rate", "sglang:num_running_reqs", "sglang:num_queue_reqs",
        "sglang:token_usage", "sglang:prompt_tokens_total", "sglang:generation_tokens_total",
        "sglang:time_to_first_token_seconds_bucket", "sglang:inter_token_latency_seconds_bucket",
        "sglang:e2e_request_latency_seconds_count"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
}

TEST_F(GenerateTest, AbortRequestEndsAStream) {
  json body = greedy_ids(prompt_ids(10, 8), 3000);
  body["sampling_params"]["ignore_eos"] = true;
  body["rid"] = "to-abort";
  body["stream"] = true;
  HttpConnection connection(engine_->port());
  HttpResult head =
      connection.start("POST", "/generate", body.dump(), {{"content-type", "application/json"}});
  ASSERT_EQ(head.status, 200);
  ASSERT_TRUE(connection.read_some(std::chrono::seconds(30)).has_value());
  EXPECT_EQ(engine_->post("/abort_request", {{"rid", "to-abort"}}).status, 200);
  std::string all;
  for (;;) {
    auto bytes = connection.read_some(std::chrono::seconds(30));
    ASSERT_TRUE(bytes.has_value());
    if (bytes->empty()) break;
    all += *bytes;
    if (all.find("[DONE]") != std::string::npos) break;
  }
  EXPECT_NE(all.find("\"abort\""), std::string::npos);
}

TEST_F(GenerateTest, ClientDisconnectAbortsTheRequest) {
  {
    json body = greedy_ids(prompt_ids(11, 8), 3000);
    body["sampling_params"]["ignore_eos"] = true;
    body["stream"] = true;
    HttpConnection connection(engine_->port());
    HttpResult head =
        connection.start("POST", "/generate", body.dump(), {{"content-type", "application/json"}});
    ASSERT_EQ(head.status, 200);
    ASSERT_TRUE(connection.read_some(std::chrono::seconds(30)).has_value());
  }
  // Polls: the abort is asynchronous.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int64_t reqs = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    reqs = engine_->get_ok("/get_load")[0]["num_reqs"].get<int64_t>();
    if (reqs == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reqs, 0);
}

}  // namespace
}  // namespace dpserve::testing
