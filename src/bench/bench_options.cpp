#include "bench/bench_options.h"

#include "common/http/url.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <map>
#include <stdexcept>

namespace dpserve::bench {

namespace {

void fail(const std::string& message) { throw std::invalid_argument(message); }

void require_positive(int value, const char* flag) {
  if (value <= 0) fail(std::string(flag) + " must be > 0, got " + std::to_string(value));
}

double parse_rate(const std::string& text) {
  if (text == "inf" || text == "Inf" || text == "INF") {
    return std::numeric_limits<double>::infinity();
  }
  size_t used = 0;
  double rate = 0;
  try {
    rate = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(rate > 0) || std::isinf(rate)) {
    fail("--request-rate must be a number > 0 or 'inf', got '" + text + "'");
  }
  return rate;
}

void validate(BenchOptions& options, const std::string& host, int port, const std::string& rate) {
  if (options.base_url.empty()) {
    if (port <= 0 || port > 65535) fail("--port must be within [1, 65535]");
    options.base_url = "http://" + host + ":" + std::to_string(port);
  }
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  std::string error;
  if (!http::parse_endpoint(options.base_url, error)) fail("--base-url: " + error);
  options.request_rate = parse_rate(rate);
  if (options.num_prompts < 0) fail("--num-prompts must be >= 0");
  if (options.max_concurrency < 0) fail("--max-concurrency must be >= 0");
  if (options.warmup_requests < 0) fail("--warmup-requests must be >= 0");
  if (!(options.request_timeout_secs > 0)) fail("--request-timeout-secs must be > 0");
  if (options.oracle_capacity_tokens < 0) fail("--oracle-kv-capacity must be >= 0");
  require_positive(options.gsp.num_groups, "--gsp-num-groups");
  require_positive(options.gsp.prompts_per_group, "--gsp-prompts-per-group");
  require_positive(options.gsp.system_prompt_len, "--gsp-system-prompt-len");
  require_positive(options.gsp.question_len, "--gsp-question-len");
  require_positive(options.gsp.output_len, "--gsp-output-len");
  require_positive(options.random.input_len, "--random-input-len");
  require_positive(options.random.output_len, "--random-output-len");
  if (options.random.range_ratio < 0 || options.random.range_ratio > 1) {
    fail("--random-range-ratio must be within [0, 1]");
  }
  require_positive(options.multi_turn.turns, "--multi-turn-turns");
  require_positive(options.multi_turn.turn_len, "--multi-turn-len");
  require_positive(options.multi_turn.output_len, "--multi-turn-output-len");
  require_positive(options.tree.root_len, "--tree-root-len");
  require_positive(options.tree.branch_len, "--tree-branch-len");
  require_positive(options.tree.fanout, "--tree-fanout");
  require_positive(options.tree.depth, "--tree-depth");
  require_positive(options.tree.output_len, "--tree-output-len");
  if (std::pow(options.tree.fanout, options.tree.depth) > 100000) {
    fail("--tree-fanout ^ --tree-depth must stay <= 100000 requests per tree");
  }
  if (options.api_key.find_first_of("\r\n") != std::string::npos) {
    fail("--api-key must not contain line breaks");
  }
  if (!options.plot_file.empty() && options.plot_file.size() < 4) {
    fail("--plot expects a file name ending in .svg");
  }
  if (!options.plot_file.empty() &&
      options.plot_file.compare(options.plot_file.size() - 4, 4, ".svg") != 0) {
    fail("--plot expects a file name ending in .svg, got '" + options.plot_file + "'");
  }
}

}  // namespace

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::kSglang:
      return "sglang";
    case Backend::kOpenai:
      return "openai";
    case Backend::kOpenaiChat:
      return "openai-chat";
  }
  return "?";
}

const char* dataset_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kGeneratedSharedPrefix:
      return "generated-shared-prefix";
    case DatasetKind::kRandom:
      return "random";
    case DatasetKind::kMultiTurn:
      return "multi-turn";
    case DatasetKind::kTree:
      return "tree";
  }
  return "?";
}

ParseResult parse_bench_options(int argc, char** argv, BenchOptions& options) {
  CLI::App app{"dpserve bench: load generator and serving benchmark (SGLang bench_serving flags)",
               "dpserve bench"};
  app.option_defaults()->always_capture_default();
  std::string host = "127.0.0.1";
  int port = 30000;
  std::string rate = "inf";
  const std::map<std::string, Backend> backends = {{"sglang", Backend::kSglang},
                                                   {"openai", Backend::kOpenai},
                                                   {"openai-chat", Backend::kOpenaiChat}};
  const std::map<std::string, DatasetKind> datasets = {
      {"generated-shared-prefix", DatasetKind::kGeneratedSharedPrefix},
      {"random", DatasetKind::kRandom},
      {"multi-turn", DatasetKind::kMultiTurn},
      {"tree", DatasetKind::kTree}};

  app.add_option("--backend", options.backend,
                 "sglang (/generate), openai (/v1/completions), "
                 "openai-chat (/v1/chat/completions)")
      ->transform(CLI::CheckedTransformer(backends, CLI::ignore_case));
  app.add_option("--base-url", options.base_url, "Server URL (overrides --host/--port)");
  app.add_option("--host", host, "Server host");
  app.add_option("--port", port, "Server port");
  app.add_option("--dataset,--dataset-name", options.dataset, "Workload")
      ->transform(CLI::CheckedTransformer(datasets, CLI::ignore_case));
  app.add_option("--model", options.model, "Model name for the OpenAI APIs (default: /v1/models)");
  app.add_option("--tokenizer", options.tokenizer,
                 "Model directory whose tokenizer.json sizes prompts exactly (default: ~1 token "
                 "per word)");
  app.add_option("--num-prompts", options.num_prompts,
                 "Requests to send (0: the dataset's natural size)");
  app.add_option("--request-rate", rate, "Requests per second (Poisson arrivals) or inf");
  app.add_option("--max-concurrency", options.max_concurrency,
                 "Requests in flight at most (0: no cap)");
  app.add_option("--seed", options.seed, "Seed of the workload and arrivals");
  app.add_option("--warmup-requests", options.warmup_requests, "Untimed requests sent first");
  app.add_flag("--flush-cache", options.flush_cache, "POST /flush_cache before the run");
  app.add_flag("--disable-ignore-eos", options.disable_ignore_eos, "Let requests stop at EOS");
  app.add_flag("--disable-stream", options.disable_stream,
               "Non-streaming requests (TTFT = E2E, no ITL)");
  app.add_flag("--disable-tqdm,--disable-progress", options.disable_progress, "No progress bar");
  app.add_option("--request-timeout-secs", options.request_timeout_secs, "Per-request deadline");
  app.add_option("--output-file", options.output_file, "Append one JSON line per run");
  app.add_flag("--output-details", options.output_details, "Add per-request arrays to the JSON");
  app.add_option("--plot", options.plot_file, "Write latency CDFs and per-worker share (SVG)");
  app.add_option("--api-key", options.api_key, "Bearer token");
  app.add_option("--label", options.label, "Free text stored in the JSON line");
  app.add_option("--oracle-kv-capacity", options.oracle_capacity_tokens,
                 "KV tokens per worker assumed by the oracle hit rate (0: unbounded)");

  app.add_option("--gsp-num-groups", options.gsp.num_groups, "Shared system prompts");
  app.add_option("--gsp-prompts-per-group", options.gsp.prompts_per_group, "Requests per group");
  app.add_option("--gsp-system-prompt-len", options.gsp.system_prompt_len,
                 "Tokens of each system prompt");
  app.add_option("--gsp-question-len", options.gsp.question_len, "Tokens of each question");
  app.add_option("--gsp-output-len", options.gsp.output_len, "Output tokens per request");
  app.add_option("--random-input-len", options.random.input_len, "Prompt tokens (max)");
  app.add_option("--random-output-len", options.random.output_len, "Output tokens (max)");
  app.add_option("--random-range-ratio", options.random.range_ratio,
                 "Lengths are uniform in [len * ratio, len]");
  app.add_option("--multi-turn-turns", options.multi_turn.turns, "Turns per conversation");
  app.add_option("--multi-turn-len", options.multi_turn.turn_len, "Tokens of each user message");
  app.add_option("--multi-turn-output-len", options.multi_turn.output_len, "Output per turn");
  app.add_option("--tree-root-len", options.tree.root_len, "Tokens of each tree's root prompt");
  app.add_option("--tree-branch-len", options.tree.branch_len, "Tokens added per tree level");
  app.add_option("--tree-fanout", options.tree.fanout, "Children per node");
  app.add_option("--tree-depth", options.tree.depth, "Levels below the root");
  app.add_option("--tree-output-len", options.tree.output_len, "Output tokens per node");

  try {
    app.parse(argc, argv);
    validate(options, host, port, rate);
  } catch (const CLI::CallForHelp&) {
    return {false, 0, app.help()};
  } catch (const CLI::ParseError& e) {
    return {false, 2, std::string("dpserve bench: ") + e.what()};
  } catch (const std::invalid_argument& e) {
    return {false, 2, std::string("dpserve bench: ") + e.what()};
  }
  return {true, 0, ""};
}

}  // namespace dpserve::bench
