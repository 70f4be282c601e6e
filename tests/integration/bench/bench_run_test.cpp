// `dpserve bench` as a process, against dpserve_test_worker (streams 3 events per request).
#include "common/http/server.h"
#include "support/process.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace dpserve::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path temp_dir(const std::string& name) {
  auto dir = fs::path(DPSERVE_BUILD_DIR) / "test-tmp" / ("bench-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Run {
  int exit_code;
  std::string output;
};

Run bench(std::vector<std::string> args) {
  args.insert(args.begin(), {DPSERVE_BIN, "bench"});
  Process process(std::move(args));
  int code = process.wait_exit(std::chrono::seconds(60));
  return {code, process.output()};
}

json last_json_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return json::parse(last);
}

void expect_counts_add_up(const json& j, int expected) {
  EXPECT_EQ(j["num_requests"].get<int>(), expected);
  EXPECT_EQ(j["completed"].get<int>() + j["failed"].get<int>() + j["rejected"].get<int>(),
            expected);
}

TEST(BenchRun, SharedPrefixAgainstAWorkerWritesReportJsonAndPlot) {
  TestWorker worker("w0");
  ASSERT_GT(worker.port, 0);
  auto dir = temp_dir("gsp");
  auto out = dir / "runs.jsonl";
  auto svg = dir / "plot.svg";
  auto run = bench({"--base-url",
                    worker.url(),
                    "--dataset",
                    "generated-shared-prefix",
                    "--gsp-num-groups",
                    "3",
                    "--gsp-prompts-per-group",
                    "4",
                    "--gsp-system-prompt-len",
                    "40",
                    "--gsp-question-len",
                    "5",
                    "--gsp-output-len",
                    "3",
                    "--output-file",
                    out.string(),
                    "--plot",
                    svg.string(),
                    "--output-details",
                    "--disable-progress",
                    "--label",
                    "t"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Serving Benchmark Result"), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("Successful requests: +12\n")))
      << run.output;
  auto j = last_json_line(out);
  expect_counts_add_up(j, 12);
  EXPECT_EQ(j["completed"], 12);
  EXPECT_EQ(j["label"], "t");
  // The worker streams 3 events per request: 3 output tokens, 2 inter-token gaps.
  EXPECT_EQ(j["total_output_tokens"], 36);
  EXPECT_EQ(j["total_input_tokens"], 12 * 45);
  EXPECT_EQ(j["details"].size(), 12u);
  EXPECT_EQ(j["details"][0]["itl"].size(), 2u);
  EXPECT_GT(j["ttft"]["mean_ms"].get<double>(), 0);
  EXPECT_LE(j["ttft"]["median_ms"].get<double>(), j["e2e_latency"]["p99_ms"].get<double>());
  EXPECT_NEAR(j["oracle_cache_hit_rate"].get<double>(), 9.0 * 40 / (12 * 45), 1e-9);
  EXPECT_TRUE(j["server_cache_hit_rate"].is_null()) << "the test worker has no /metrics";
  std::ifstream plot(svg);
  std::stringstream text;
  text << plot.rdbuf();
  EXPECT_EQ(text.str().rfind("<svg", 0), 0u);
  EXPECT_NE(text.str().find("polyline"), std::string::npos);
  EXPECT_NE(text.str().find("</svg>"), std::string::npos);
  // A second run appends a second line.
  ASSERT_EQ(bench({"--base-url", worker.url(), "--dataset", "random", "--num-prompts", "5",
                   "--random-input-len", "8", "--random-output-len", "2", "--output-file",
                   out.string(), "--disable-progress"})
                .exit_code,
            0);
  std::ifstream lines(out);
  int count = 0;
  for (std::string line; std::getline(lines, line);) count += !line.empty();
  EXPECT_EQ(count, 2);
}

TEST(BenchRun, PoissonRateConcurrencyCapMultiTurnAndTree) {
  TestWorker worker("w0");
  ASSERT_GT(worker.port, 0);
  auto dir = temp_dir("shapes");
  auto out = dir / "runs.jsonl";
  auto run = bench({"--base-url", worker.url(), "--dataset", "random", "--num-prompts", "20",
                    "--random-input-len", "10", "--random-output-len", "3", "--request-rate", "200",
                    "--max-concurrency", "2", "--output-file", out.string(), "--disable-progress"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto j = last_json_line(out);
  expect_counts_add_up(j, 20);
  EXPECT_EQ(j["completed"], 20);
  EXPECT_LE(j["concurrency"].get<double>(), 2.05);
  run = bench({"--base-url", worker.url(), "--dataset", "multi-turn", "--num-prompts", "8",
               "--multi-turn-turns", "2", "--output-file", out.string(), "--disable-progress"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  j = last_json_line(out);
  expect_counts_add_up(j, 8);
  EXPECT_EQ(j["completed"], 8);
  EXPECT_GT(j["oracle_cache_hit_rate"].get<double>(), 0) << "later turns reuse the history";
  run =
      bench({"--base-url", worker.url(), "--dataset", "tree", "--num-prompts", "6", "--tree-fanout",
             "2", "--tree-depth", "1", "--output-file", out.string(), "--disable-progress"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  j = last_json_line(out);
  expect_counts_add_up(j, 6);
  EXPECT_EQ(j["completed"], 6);
}

// With a byte-level tokenizer, random token ids decode to text with cut multi-byte characters.
// Such prompts made the JSON body throw inside a detached request coroutine: the request vanished
// and the run never ended. Every request must complete (and the warm-up must really run).
TEST(BenchRun, TokenizerPromptsWithCutCharactersAllComplete) {
  auto dir = temp_dir("tokenizer");
  auto model = (dir / "tiny").string();
  Process create(
      {DPSERVE_BIN, "model", "create", "--arch", "llama", "--preset", "tiny", "--out", model});
  ASSERT_EQ(create.wait_exit(std::chrono::seconds(60)), 0) << create.output();
  TestWorker worker("w0");
  ASSERT_GT(worker.port, 0);
  auto out = dir / "runs.jsonl";
  auto run = bench({"--base-url",
                    worker.url(),
                    "--tokenizer",
                    model,
                    "--gsp-num-groups",
                    "4",
                    "--gsp-prompts-per-group",
                    "4",
                    "--gsp-system-prompt-len",
                    "64",
                    "--gsp-question-len",
                    "8",
                    "--gsp-output-len",
                    "3",
                    "--seed",
                    "7",
                    "--output-file",
                    out.string(),
                    "--output-details",
                    "--disable-progress"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto j = last_json_line(out);
  expect_counts_add_up(j, 16);
  EXPECT_EQ(j["completed"], 16) << j["errors"].dump();
  // Prompts have the asked length (64 + 8 tokens, plus the "\n\n" between them), not the ~1.6x
  // that cut characters re-encoded as U+FFFD gave.
  const int input = j["total_input_tokens"].get<int>();
  EXPECT_GE(input, 16 * 72) << input;
  EXPECT_LE(input, 16 * 76) << input;
}

// An engine that streams SGLang /generate events `kEventGapMs` apart (and answers 404 to the
// bench's metric probes).
constexpr int kEventGapMs = 150;

http::net::awaitable<void> slow_stream(http::Exchange& exchange) {
  namespace bhttp = http::bhttp;
  if (exchange.request().target() != "/generate") {
    co_await exchange.respond_error(404, "not_found", "no such endpoint");
    co_return;
  }
  bhttp::response_header<> head;
  head.result(bhttp::status::ok);
  head.set(bhttp::field::content_type, "text/event-stream");
  exchange.begin_stream(head, std::nullopt);
  std::string text;
  for (int i = 1; i <= 3; ++i) {
    if (i > 1) {
      http::net::steady_timer gap(co_await http::net::this_coro::executor,
                                  std::chrono::milliseconds(kEventGapMs));
      co_await gap.async_wait(http::kUse);
    }
    text += "t" + std::to_string(i);
    json event;
    event["text"] = text;
    event["meta_info"]["completion_tokens"] = i;
    event["meta_info"]["prompt_tokens"] = 4;
    if (!co_await exchange.write_body("data: " + event.dump() + "\n\n")) co_return;
  }
  if (co_await exchange.write_body("data: [DONE]\n\n")) co_await exchange.end_stream();
}

// TTFT is when the first event arrives, not when the response ends: bench read the body with
// async_read, which returns only when its 16 KiB buffer is full or the message is complete, so
// every short stream had TTFT == E2E and ITL == 0.
TEST(BenchRun, TtftIsTakenAtTheFirstEventOfAStream) {
  http::Server server(http::ServerOptions{}, slow_stream);
  std::thread io([&server] { server.run(); });
  auto dir = temp_dir("ttft");
  auto out = dir / "runs.jsonl";
  auto run = bench({"--base-url", "http://127.0.0.1:" + std::to_string(server.port()), "--dataset",
                    "random", "--num-prompts", "2", "--random-input-len", "4",
                    "--random-output-len", "3", "--warmup-requests", "0", "--output-file",
                    out.string(), "--output-details", "--disable-progress"});
  server.stop();
  io.join();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto j = last_json_line(out);
  ASSERT_EQ(j["completed"], 2) << j.dump();
  for (const auto& d : j["details"]) {
    const double ttft = d["ttft"].get<double>();
    const double e2e = d["latency"].get<double>();
    EXPECT_LT(ttft, kEventGapMs / 1000.0) << d.dump();
    EXPECT_GE(e2e, 2 * kEventGapMs / 1000.0) << d.dump();
    ASSERT_EQ(d["itl"].size(), 2u) << d.dump();
    for (const auto& gap : d["itl"]) EXPECT_GT(gap.get<double>(), kEventGapMs / 2000.0);
  }
}

TEST(BenchRun, UnreachableServerCountsFailuresAndExitsNonZero) {
  auto dir = temp_dir("down");
  auto out = dir / "runs.jsonl";
  // Port 1 on loopback: connection refused.
  auto run = bench({"--base-url", "http://127.0.0.1:1", "--dataset", "random", "--num-prompts", "4",
                    "--warmup-requests", "0", "--output-file", out.string(), "--disable-progress"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  auto j = last_json_line(out);
  expect_counts_add_up(j, 4);
  EXPECT_EQ(j["failed"], 4);
  EXPECT_FALSE(j["errors"].empty());
  run = bench({"--base-url", "http://127.0.0.1:1", "--dataset", "random", "--num-prompts", "4",
               "--disable-progress"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("every warm-up request failed"), std::string::npos) << run.output;
}

TEST(BenchRun, BadFlagsGiveClearErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--request-rate", "0"}, "--request-rate"},
      {{"--request-rate", "fast"}, "--request-rate"},
      {{"--dataset", "sharegpt"}, "--dataset"},
      {{"--backend", "vllm"}, "--backend"},
      {{"--gsp-num-groups", "0"}, "--gsp-num-groups"},
      {{"--random-range-ratio", "2"}, "--random-range-ratio"},
      {{"--plot", "out.png"}, "--plot"},
      {{"--base-url", "ftp://x"}, "--base-url"},
      {{"--no-such-flag"}, "no-such-flag"},
  };
  for (const auto& c : cases) {
    auto run = bench(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.args[0];
    EXPECT_NE(run.output.find(c.message), std::string::npos) << run.output;
  }
}

}  // namespace
}  // namespace dpserve::testing
