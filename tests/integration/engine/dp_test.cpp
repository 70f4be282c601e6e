// Native DP: independent replicas (own radix caches), pinning by body field or header, one load
// entry per rank, and the dispatch methods.
#include "integration/engine/engine_fixture.h"

namespace dpserve::testing {
namespace {

TEST(EngineDp, PinnedRanksHaveSeparateCaches) {
  Engine engine({"--dp-size", "2", "--max-total-tokens", "4096"});
  json info = engine.get_ok("/get_server_info");
  EXPECT_EQ(info["dp_size"], 2);
  EXPECT_EQ(info["max_total_num_tokens"], 4096);
  EXPECT_EQ(info["internal_states"].size(), 2u);
  json load = engine.get_ok("/get_load");
  ASSERT_EQ(load.size(), 2u);
  EXPECT_EQ(load[1]["dp_rank"], 1);

  auto ids = prompt_ids(20, 64);
  json body = greedy_ids(ids, 4);
  body["routed_dp_rank"] = 0;
  json first = engine.post_ok("/generate", body);
  EXPECT_EQ(first["meta_info"]["cached_tokens"], 0);
  // Rank 1 has never seen the prompt (header pin overrides the body's rank 0).
  json other = engine.post_ok("/generate", body, {{"X-Data-Parallel-Rank", "1"}});
  EXPECT_EQ(other["meta_info"]["cached_tokens"], 0);
  EXPECT_EQ(other["output_ids"], first["output_ids"]);
  // Back on rank 0 (older field name): cached.
  json again = greedy_ids(ids, 4);
  again["data_parallel_rank"] = 0;
  json warm = engine.post_ok("/generate", again);
  EXPECT_GT(warm["meta_info"]["cached_tokens"].get<int>(), 0);
  EXPECT_EQ(warm["output_ids"], first["output_ids"]);
}

TEST(EngineDp, RoundRobinAlternatesRanks) {
  Engine engine({"--dp-size", "2", "--max-total-tokens", "4096"});
  auto ids = prompt_ids(21, 64);
  // Four identical requests round-robin over 2 ranks: each rank sees the prompt cold once.
  int cold = 0;
  for (int i = 0; i < 4; ++i) {
    json out = engine.post_ok("/generate", greedy_ids(ids, 2));
    if (out["meta_info"]["cached_tokens"] == 0) ++cold;
  }
  EXPECT_EQ(cold, 2);
}

TEST(EngineDp, ShortestQueueAvoidsTheBusyRank) {
  Engine engine(
      {"--dp-size", "2", "--load-balance-method", "shortest_queue", "--max-total-tokens", "8192"});
  // Keep rank 0 busy with a long stream, then send short requests: all go to rank 1, so the
  // second one with the same prompt is a cache hit.
  // 16 samples of 4000 tokens: seconds of work, so rank 0 stays busy for the whole test.
  json busy = greedy_ids(prompt_ids(22, 8), 4000);
  busy["sampling_params"]["ignore_eos"] = true;
  busy["sampling_params"]["n"] = 16;
  busy["stream"] = true;
  busy["routed_dp_rank"] = 0;
  HttpConnection stream(engine.port());
  ASSERT_EQ(
      stream.start("POST", "/generate", busy.dump(), {{"content-type", "application/json"}}).status,
      200);
  ASSERT_TRUE(stream.read_some(std::chrono::seconds(30)).has_value());
  auto ids = prompt_ids(23, 64);
  json a = engine.post_ok("/generate", greedy_ids(ids, 2));
  json b = engine.post_ok("/generate", greedy_ids(ids, 2));
  EXPECT_EQ(a["meta_info"]["cached_tokens"], 0);
  EXPECT_GT(b["meta_info"]["cached_tokens"].get<int>(), 0);
  json load = engine.get_ok("/get_load");
  EXPECT_EQ(load[0]["num_reqs"], 1);
  EXPECT_EQ(load[1]["num_reqs"], 0);
  // Finished requests leave no load behind: prompt and generated tokens both come back off.
  EXPECT_EQ(load[1]["num_tokens"], 0);
}

TEST(EngineDp, MinimumTokensSpreadsABatch) {
  Engine engine(
      {"--dp-size", "2", "--load-balance-method", "minimum_tokens", "--max-total-tokens", "8192"});
  json batch = {{"input_ids", json::array()},
                {"sampling_params", {{"temperature", 0}, {"max_new_tokens", 4}}}};
  for (int i = 0; i < 8; ++i) batch["input_ids"].push_back(prompt_ids(30 + i, 16));
  json out = engine.post_ok("/generate", batch);
  ASSERT_EQ(out.size(), 8u);
  json info = engine.get_ok("/get_server_info");
  // Both ranks did prefill work.
  const json& states = info["internal_states"];
  int ranks_used = 0;
  json metrics_text = engine.get("/metrics").body;
  for (int rank = 0; rank < 2; ++rank) {
    const std::string series = "sglang:prompt_tokens_total{model_name=\"" + tiny_model_dir() +
                               "\",dp_rank=\"" + std::to_string(rank) + "\"} ";
    const std::string text = metrics_text.get<std::string>();
    auto at = text.find(series);
    ASSERT_NE(at, std::string::npos) << text;
    if (std::stoll(text.substr(at + series.size())) > 0) ++ranks_used;
  }
  EXPECT_EQ(ranks_used, 2);
  EXPECT_EQ(states.size(), 2u);
}

}  // namespace
}  // namespace dpserve::testing
