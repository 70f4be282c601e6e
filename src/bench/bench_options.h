// `dpserve bench` options: SGLang bench_serving's flag names and defaults, validated at start-up.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace dpserve::bench {

enum class Backend { kSglang, kOpenai, kOpenaiChat };
enum class DatasetKind { kGeneratedSharedPrefix, kRandom, kMultiTurn, kTree };

struct GspOptions {
  int num_groups = 64;
  int prompts_per_group = 16;
  int system_prompt_len = 2048;
  int question_len = 128;
  int output_len = 256;
};

struct RandomOptions {
  int input_len = 1024;
  int output_len = 128;
  double range_ratio = 0.0;  // lengths uniform in [len * ratio, len]
};

struct MultiTurnOptions {
  int turns = 4;
  int turn_len = 64;  // tokens of each new user message
  int output_len = 64;
};

struct TreeOptions {
  int root_len = 512;
  int branch_len = 32;
  int fanout = 4;
  int depth = 2;
  int output_len = 64;
};

struct BenchOptions {
  std::string base_url;  // --base-url, or http://HOST:PORT
  Backend backend = Backend::kSglang;
  DatasetKind dataset = DatasetKind::kGeneratedSharedPrefix;
  std::string model;      // sent as "model" to the OpenAI APIs; default: the first of /v1/models
  std::string tokenizer;  // model directory with tokenizer.json; empty: approximate by words
  GspOptions gsp;
  RandomOptions random;
  MultiTurnOptions multi_turn;
  TreeOptions tree;
  int num_prompts = 0;  // 0: the dataset's natural size (gsp: groups * prompts-per-group)
  double request_rate = std::numeric_limits<double>::infinity();
  int max_concurrency = 0;  // 0: no cap
  uint64_t seed = 1;
  int warmup_requests = 1;
  bool flush_cache = false;
  bool disable_ignore_eos = false;
  bool disable_stream = false;
  bool disable_progress = false;
  double request_timeout_secs = 600;
  std::string output_file;  // JSON lines, one per run
  bool output_details = false;
  std::string plot_file;  // SVG
  std::string api_key;
  std::string label;                   // free text stored in the JSON line (scenario arm name)
  int64_t oracle_capacity_tokens = 0;  // per-worker KV tokens for the oracle hit rate; 0: unbounded
};

struct ParseResult {
  bool run = false;
  int exit_code = 0;
  std::string message;
};

// argv[0] is the subcommand name.
ParseResult parse_bench_options(int argc, char** argv, BenchOptions& options);

const char* backend_name(Backend backend);
const char* dataset_name(DatasetKind kind);

}  // namespace dpserve::bench
