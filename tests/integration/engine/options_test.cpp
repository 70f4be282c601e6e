// Start-up flags: every bad value is refused with a message naming the flag; scheduling flags
// change behaviour but not greedy outputs.
#include "integration/engine/engine_fixture.h"

namespace dpserve::testing {
namespace {

// Runs `dpserve engine` with `flags`; expects a non-zero exit and `why` in its output.
void expect_refused(std::vector<std::string> flags, const std::string& why) {
  std::vector<std::string> argv = {DPSERVE_BIN,      "engine", "--model-path",
                                   tiny_model_dir(), "--port", "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  Process process(argv);
  const int code = process.wait_exit(std::chrono::seconds(30));
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1) << "still running";
  EXPECT_NE(process.output().find(why), std::string::npos) << process.output();
}

TEST(EngineOptions, RejectsBadAndUnimplementedFlags) {
  expect_refused({"--tp-size", "2"}, "--tp-size");
  expect_refused({"--enable-dp-attention"}, "--enable-dp-attention");
  expect_refused({"--ep-size", "4"}, "--ep-size");
  expect_refused({"--pp-size", "2"}, "--pp-size");
  expect_refused({"--dp-size", "0"}, "--dp-size");
  expect_refused({"--load-balance-method", "random"}, "--load-balance-method");
  expect_refused({"--schedule-policy", "lifo"}, "--schedule-policy");
  expect_refused({"--page-size", "0"}, "--page-size");
  expect_refused({"--no-such-flag"}, "no-such-flag");
  expect_refused({"--chat-template", "jinja-of-doom"}, "--chat-template");
  expect_refused({"--log-level", "loud"}, "--log-level");
  expect_refused({"--max-total-tokens", "-3"}, "--max-total-tokens");
  expect_refused({"--port", "70000"}, "--port");
}

TEST(EngineOptions, ChunkedPrefillMatchesUnchunked) {
  auto ids = prompt_ids(40, 150);
  json whole, chunked;
  {
    Engine engine({"--max-total-tokens", "4096"});
    whole = engine.post_ok("/generate", greedy_ids(ids, 8));
  }
  {
    Engine engine(
        {"--max-total-tokens", "4096", "--chunked-prefill-size", "16", "--page-size", "4"});
    chunked = engine.post_ok("/generate", greedy_ids(ids, 8));
    EXPECT_EQ(engine.get_ok("/get_server_info")["chunked_prefill_size"], 16);
  }
  EXPECT_EQ(whole["output_ids"], chunked["output_ids"]);
}

TEST(EngineOptions, TinyKvBudgetRetractsButFinishesEverything) {
  Engine engine({"--max-total-tokens", "256", "--schedule-policy", "fcfs"});
  json batch = {
      {"input_ids", json::array()},
      {"sampling_params", {{"temperature", 0}, {"max_new_tokens", 100}, {"ignore_eos", true}}}};
  for (int i = 0; i < 12; ++i) batch["input_ids"].push_back(prompt_ids(50 + i, 40));
  json out = engine.post_ok("/generate", batch);
  ASSERT_EQ(out.size(), 12u);
  for (const auto& item : out) {
    EXPECT_EQ(item["meta_info"]["completion_tokens"], 100);
    EXPECT_EQ(item["meta_info"]["finish_reason"]["type"], "length");
  }
  // Same greedy output as alone, retraction or not.
  json single = greedy_ids(prompt_ids(50, 40), 100);
  single["sampling_params"]["ignore_eos"] = true;
  json alone = engine.post_ok("/generate", single);
  EXPECT_EQ(alone["output_ids"], out[0]["output_ids"]);
  json info = engine.get_ok("/get_server_info");
  int64_t retractions = 0;
  for (const auto& s : info["internal_states"]) retractions += s["num_retractions"].get<int64_t>();
  EXPECT_GT(retractions, 0);
}

TEST(EngineOptions, DefaultModelIsCreatedOnce) {
  namespace fs = std::filesystem;
  const fs::path cache = fs::path(tiny_model_dir()).parent_path() / "xdg-cache";
  setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  Process process({DPSERVE_BIN, "engine", "--port", "0", "--log-level", "warning"});
  const int port = process.wait_for_port(std::chrono::seconds(60));
  unsetenv("XDG_CACHE_HOME");
  ASSERT_GT(port, 0) << process.output();
  EXPECT_TRUE(fs::exists(cache / "dpserve/models/tiny-llama/config.json"));
  HttpResult info = http_request(port, "GET", "/get_model_info");
  EXPECT_NE(info.body.find("tiny-llama"), std::string::npos) << info.body;
}

}  // namespace
}  // namespace dpserve::testing
