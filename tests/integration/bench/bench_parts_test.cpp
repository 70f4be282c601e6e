// The pure parts of `dpserve bench`: workloads, stream parsing, Prometheus text, statistics.
#include "bench/api_format.h"
#include "bench/dataset.h"
#include "bench/prometheus.h"
#include "bench/report.h"
#include "bench/server_stats.h"

#include <gtest/gtest.h>

#include <set>

namespace dpserve::bench {
namespace {

BenchOptions small_gsp() {
  BenchOptions options;
  options.gsp = {4, 5, 30, 6, 8};
  return options;
}

size_t request_count(const Workload& workload) {
  size_t n = 0;
  for (const auto& unit : workload.units) {
    for (const auto& stage : unit.stages) n += stage.items.size();
  }
  return n;
}

TEST(BenchDataset, SharedPrefixGroupsShareTheirSystemPromptAndAreShuffledBySeed) {
  TextSource text("");
  auto options = small_gsp();
  auto workload = make_workload(options, text);
  ASSERT_EQ(request_count(workload), 20u);
  std::map<int, std::string> prefix;
  std::set<int> groups_in_first_five;
  for (size_t u = 0; u < workload.units.size(); ++u) {
    const auto& item = workload.items[static_cast<size_t>(workload.units[u].stages[0].items[0])];
    auto system = item.prompt.substr(0, item.prompt.find("\n\n"));
    EXPECT_EQ(text.count(system), 30);
    EXPECT_EQ(item.prompt_tokens, 36);
    auto [it, fresh] = prefix.emplace(item.group, system);
    EXPECT_EQ(it->second, system);
    // The first request of a group is a miss, every later one could hit its system prompt.
    EXPECT_EQ(item.cacheable_tokens, fresh ? 0 : 30);
    if (u < 5) groups_in_first_five.insert(item.group);
  }
  EXPECT_EQ(prefix.size(), 4u);
  EXPECT_GT(groups_in_first_five.size(), 1u) << "requests are not shuffled";
  // Same seed, same workload; another seed, another one.
  auto again = make_workload(options, text);
  EXPECT_EQ(again.items[0].prompt, workload.items[0].prompt);
  options.seed = 2;
  EXPECT_NE(make_workload(options, text).items[0].prompt, workload.items[0].prompt);
}

TEST(BenchDataset, OracleHitRateIsTheSharedShareAndRespectsCapacity) {
  TextSource text("");
  auto workload = make_workload(small_gsp(), text);
  // 4 groups x 5 prompts of 36 tokens; 4 of 5 per group can reuse 30 tokens.
  EXPECT_NEAR(oracle_hit_rate(workload, 0), (16.0 * 30) / (20.0 * 36), 1e-9);
  EXPECT_NEAR(oracle_hit_rate(workload, 10), 0.0, 1e-9);
}

TEST(BenchDataset, NumPromptsRandomTreeAndMultiTurnShapes) {
  TextSource text("");
  BenchOptions options;
  options.dataset = DatasetKind::kRandom;
  options.num_prompts = 50;
  options.random = {40, 10, 0.5};
  auto random = make_workload(options, text);
  ASSERT_EQ(request_count(random), 50u);
  for (const auto& item : random.items) {
    EXPECT_GE(item.prompt_tokens, 20);
    EXPECT_LE(item.prompt_tokens, 40);
    EXPECT_GE(item.output_len, 5);
    EXPECT_LE(item.output_len, 10);
  }
  options.dataset = DatasetKind::kTree;
  options.num_prompts = 14;
  options.tree = {20, 5, 2, 2, 4};  // 1 + 2 + 4 nodes per tree
  auto tree = make_workload(options, text);
  ASSERT_EQ(tree.units.size(), 2u);
  ASSERT_EQ(tree.units[0].stages.size(), 3u);
  EXPECT_EQ(tree.units[0].stages[2].items.size(), 4u);
  const auto& root = tree.items[static_cast<size_t>(tree.units[0].stages[0].items[0])];
  for (int index : tree.units[0].stages[2].items) {
    const auto& leaf = tree.items[static_cast<size_t>(index)];
    EXPECT_EQ(leaf.prompt.rfind(root.prompt, 0), 0u) << "a leaf extends its root";
    EXPECT_GT(leaf.cacheable_tokens, root.prompt_tokens);
  }
  options.dataset = DatasetKind::kMultiTurn;
  options.num_prompts = 12;
  options.multi_turn = {3, 10, 5};
  auto chat = make_workload(options, text);
  ASSERT_EQ(chat.units.size(), 4u);
  EXPECT_TRUE(chat.units[0].conversation);
  EXPECT_EQ(chat.units[0].stages.size(), 3u);
}

TEST(BenchApiFormat, SglangCumulativeTextBecomesDeltasWithCounts) {
  StreamParser parser(Backend::kSglang);
  auto a = parser.feed(R"({"text":"Hel","meta_info":{"prompt_tokens":7,"completion_tokens":1}})");
  auto b = parser.feed(
      R"({"text":"Hello","meta_info":{"prompt_tokens":7,"completion_tokens":2,"cached_tokens":3,"finish_reason":{"type":"length"}}})");
  EXPECT_EQ(a.text, "Hel");
  EXPECT_EQ(b.text, "lo");
  EXPECT_EQ(b.completion_tokens, 2);
  EXPECT_EQ(b.cached_tokens, 3);
  EXPECT_TRUE(b.done);
  EXPECT_TRUE(parser.feed("[DONE]").done);
}

TEST(BenchApiFormat, OpenAiDeltasUsageAndErrors) {
  StreamParser chat(Backend::kOpenaiChat);
  EXPECT_EQ(chat.feed(R"({"choices":[{"delta":{"content":"Hi"}}]})").text, "Hi");
  auto usage = chat.feed(
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":8}}})");
  EXPECT_EQ(usage.prompt_tokens, 9);
  EXPECT_EQ(usage.cached_tokens, 8);
  StreamParser completions(Backend::kOpenai);
  EXPECT_EQ(completions.feed(R"({"choices":[{"text":" there"}]})").text, " there");
  EXPECT_EQ(completions.feed(R"({"error":{"message":"boom"}})").error, "boom");
  auto full = parse_response(
      Backend::kOpenaiChat,
      R"({"choices":[{"message":{"content":"ok"}}],"usage":{"completion_tokens":1}})");
  EXPECT_EQ(full.text, "ok");
  EXPECT_EQ(full.completion_tokens, 1);
}

TEST(BenchApiFormat, BodiesCarryLengthsAndStreaming) {
  RequestSpec spec;
  spec.messages = {{"user", "q"}};
  spec.max_tokens = 12;
  auto generate = nlohmann::json::parse(request_body(Backend::kSglang, "m", spec));
  EXPECT_EQ(generate["text"], "q");
  EXPECT_EQ(generate["sampling_params"]["max_new_tokens"], 12);
  EXPECT_EQ(generate["sampling_params"]["ignore_eos"], true);
  auto chat = nlohmann::json::parse(request_body(Backend::kOpenaiChat, "m", spec));
  EXPECT_EQ(chat["messages"][0]["content"], "q");
  EXPECT_EQ(chat["model"], "m");
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
  spec.messages.push_back({"assistant", "a"});
  spec.messages.push_back({"user", "q2"});
  EXPECT_EQ(render_prompt(spec.messages), "User: q\n\nAssistant: a\n\nUser: q2\n\nAssistant:");
}

TEST(BenchPrometheus, SumsLabelledSamplesAndSkipsComments) {
  auto samples = parse_prometheus(
      "# HELP x\n# TYPE sglang:prompt_tokens_total counter\n"
      "sglang:prompt_tokens_total{dp_rank=\"0\",model=\"a}b\"} 10\n"
      "sglang:prompt_tokens_total{dp_rank=\"1\"} 5.5\n"
      "sglang:cached_tokens_total 4\nbroken_line\n");
  EXPECT_DOUBLE_EQ(*metric_sum(samples, "sglang:prompt_tokens_total"), 15.5);
  EXPECT_DOUBLE_EQ(*metric_sum(samples, "sglang:cached_tokens_total"), 4);
  EXPECT_FALSE(metric_sum(samples, "missing"));
  EXPECT_EQ(label_value(samples[0].labels, "model"), "a}b");
}

TEST(BenchStats, PercentilesAndServerDeltas) {
  auto d = summarize({4, 1, 3, 2, 5});
  EXPECT_DOUBLE_EQ(d.median, 3);
  EXPECT_DOUBLE_EQ(d.mean, 3);
  EXPECT_DOUBLE_EQ(d.p90, 4.6);
  EXPECT_DOUBLE_EQ(d.max, 5);
  ServerSnapshot before, after;
  before.workers = {{"http://a", true, 100, 10, 1, {}}, {"http://b", true, 0, 0, 0, {}}};
  after.workers = {{"http://a", true, 300, 110, 4, {}}, {"http://b", true, 200, 50, 1, {}}};
  auto stats = diff_snapshots(before, after);
  ASSERT_TRUE(stats.cache_hit_rate);
  EXPECT_DOUBLE_EQ(*stats.cache_hit_rate, 150.0 / 400.0);
  ASSERT_EQ(stats.workers.size(), 2u);
  EXPECT_DOUBLE_EQ(stats.workers[0].share, 0.75);
  EXPECT_EQ(stats.share_source, "requests (worker metrics)");
}

}  // namespace
}  // namespace dpserve::bench
