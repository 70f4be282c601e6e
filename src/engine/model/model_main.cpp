#include "engine/model/model_main.h"

#include "engine/loader/checkpoint.h"
#include "engine/loader/load_error.h"
#include "engine/model/load_model.h"
#include "engine/model/model_bench.h"
#include "engine/model/npy.h"
#include "engine/model/presets.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace dpserve::engine {
namespace {

DType parse_dtype(const std::string& name) {
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "f16" || name == "float16") return DType::kF16;
  throw std::invalid_argument("unknown dtype '" + name + "' (f32, bf16, f16)");
}

std::vector<int32_t> parse_tokens(const std::string& text) {
  std::vector<int32_t> tokens;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    const long v = std::stol(item, &used);
    if (used != item.size() || v < 0 || v > INT32_MAX) {
      throw std::invalid_argument("--tokens: '" + item + "' is not a token id");
    }
    tokens.push_back(static_cast<int32_t>(v));
  }
  if (tokens.empty()) throw std::invalid_argument("--tokens: no token ids");
  return tokens;
}

int run_inspect(const std::string& dir) {
  const ModelInfo info = describe_model(dir);
  Checkpoint ckpt(dir);
  int64_t bytes = 0;
  std::string dtypes;
  for (const auto& name : ckpt.tensor_names()) {
    const TensorView view = ckpt.tensor(name);
    bytes += static_cast<int64_t>(view.nbytes());
    const std::string d(dtype_name(view.info->dtype));
    if (dtypes.find(d) == std::string::npos) dtypes += (dtypes.empty() ? "" : ",") + d;
  }
  const auto& c = ckpt.config();
  std::printf("architecture: %s\n", info.architecture.c_str());
  std::printf("layers: %d\n", info.num_layers);
  if (c.has("hidden_size")) std::printf("hidden_size: %lld\n", (long long)c.get_int("hidden_size"));
  std::printf("vocab_size: %d\n", info.vocab_size);
  std::printf("max_position_embeddings: %d\n", info.max_position_embeddings);
  const int64_t params = ckpt.parameter_count();
  std::printf("parameters: %lld (%.1f M)\n", (long long)params, params / 1e6);
  std::printf("weights: %s, %.1f MiB\n", dtypes.c_str(), bytes / 1048576.0);
  std::printf("kv_row_floats: k %d + v %d per layer\n", info.kv_k_width, info.kv_v_width);
  std::printf("kv_bytes_per_token: %lld (f32 cache; %lld in bf16)\n",
              (long long)info.kv_bytes_per_token(), (long long)info.kv_bytes_per_token() / 2);
  return 0;
}

// Logits for every position through single-token decode steps (what HF's full-sequence forward
// returns), or only the last position through one prefill pass.
int run_logits(const std::string& dir, const std::string& tokens_text, const std::string& out,
               const std::string& dtype, int threads, bool prefill) {
  const std::vector<int32_t> tokens = parse_tokens(tokens_text);
  LoadOptions opts;
  opts.threads = threads;
  opts.compute_dtype = parse_dtype(dtype);
  auto model = load_model(dir, opts);
  const ModelInfo& info = model->info();
  const int64_t n = static_cast<int64_t>(tokens.size());
  KvStorage kv(info.num_layers, n, info.kv_k_width, info.kv_v_width);
  std::vector<int64_t> slots(n);
  for (int64_t i = 0; i < n; ++i) slots[i] = i;
  NpyArray result;
  result.cols = info.vocab_size;
  if (prefill) {
    result.rows = 1;
    result.data.resize(info.vocab_size);
    Batch batch;
    batch.seqs.push_back({tokens, 0, slots});
    model->forward(batch, kv, result.data);
  } else {
    result.rows = n;
    result.data.resize(static_cast<size_t>(n) * info.vocab_size);
    for (int64_t i = 0; i < n; ++i) {
      Batch batch;
      batch.seqs.push_back({std::span<const int32_t>(&tokens[i], 1), i, slots});
      model->forward(batch, kv,
                     std::span<float>(&result.data[static_cast<size_t>(i) * info.vocab_size],
                                      static_cast<size_t>(info.vocab_size)));
    }
  }
  if (out.ends_with(".npy")) {
    write_npy(out, result);
  } else {
    nlohmann::json doc;
    doc["tokens"] = tokens;
    doc["shape"] = {result.rows, result.cols};
    doc["logits"] = result.data;
    std::ofstream f(out);
    f << doc.dump() << "\n";
    if (!f) throw std::runtime_error("write failed for " + out);
  }
  return 0;
}

}  // namespace

int model_main(int argc, char** argv) {
  CLI::App app{"Create, inspect and run HF-layout checkpoints", "dpserve model"};
  app.require_subcommand(1);

  CreateOptions create;
  std::string create_dtype = "auto";
  auto* create_cmd = app.add_subcommand("create", "write a seeded checkpoint in the HF layout");
  create_cmd->add_option("--arch", create.arch, "llama | qwen2 | deepseek_v2 | deepseek_v3")
      ->required();
  create_cmd->add_option("--preset", create.preset, "tiny | small | medium")->required();
  create_cmd->add_option("--seed", create.seed, "weight seed")->default_val(0);
  create_cmd->add_option("--out", create.out, "output folder")->required();
  create_cmd
      ->add_option("--dtype", create_dtype,
                   "f32 | bf16 | f16 | auto (f32 for tiny and small, bf16 for medium)")
      ->default_val("auto");
  create_cmd
      ->add_option("--max-shard-bytes", create.max_shard_bytes,
                   "shard the weights above this many bytes per file")
      ->default_val(int64_t{2} << 30);

  std::string inspect_dir;
  auto* inspect_cmd = app.add_subcommand("inspect", "print architecture, parameters, KV bytes");
  inspect_cmd->add_option("dir", inspect_dir, "checkpoint folder")->required();

  std::string logits_dir, logits_tokens, logits_out, logits_dtype = "f32";
  int logits_threads = 1;
  bool logits_prefill = false;
  auto* logits_cmd =
      app.add_subcommand("logits", "run token ids through the model and dump logits");
  logits_cmd->add_option("dir", logits_dir, "checkpoint folder")->required();
  logits_cmd->add_option("--tokens", logits_tokens, "comma-separated token ids")->required();
  logits_cmd->add_option("--out", logits_out, "output file (.npy, else JSON)")->required();
  logits_cmd->add_option("--dtype", logits_dtype, "compute dtype: f32 | bf16")->default_val("f32");
  logits_cmd->add_option("--threads", logits_threads, "threads")->default_val(1);
  logits_cmd->add_flag("--prefill", logits_prefill,
                       "one prefill pass, last position only (default: every position, one "
                       "decode step per token)");

  ModelBenchOptions bench;
  std::string bench_dtype = "f32";
  auto* bench_cmd = app.add_subcommand(
      "bench", "memory bandwidth, matmul peak, prefill and batch-1 decode speed of a model");
  bench_cmd->add_option("dir", bench.dir, "checkpoint folder")->required();
  bench_cmd->add_option("--threads", bench.threads, "threads")->default_val(1);
  bench_cmd->add_option("--dtype", bench_dtype, "compute dtypes, comma-separated: f32,bf16")
      ->default_val("f32");
  bench_cmd->add_flag("--baseline", bench.baseline,
                      "also time decode with library linears for every M (OpenBLAS / oneDNN)");
  bench_cmd->add_option("--prompt", bench.prompt_tokens, "prefill tokens")->default_val(512);
  bench_cmd->add_option("--decode", bench.decode_tokens, "decode steps")->default_val(64);
  bench_cmd->add_option("--repeats", bench.repeats, "best of N")->default_val(3);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*create_cmd) {
      if (create_dtype == "auto") {
        create.dtype = create.preset == "medium" ? DType::kBF16 : DType::kF32;
      } else {
        create.dtype = parse_dtype(create_dtype);
      }
      const auto start = std::chrono::steady_clock::now();
      create_checkpoint(create);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("wrote %s %s checkpoint to %s (%.1f s)\n", create.arch.c_str(),
                  create.preset.c_str(), create.out.c_str(), secs);
      return 0;
    }
    if (*inspect_cmd) return run_inspect(inspect_dir);
    if (*bench_cmd) {
      bench.dtypes.clear();
      std::stringstream list(bench_dtype);
      for (std::string item; std::getline(list, item, ',');) {
        bench.dtypes.push_back(parse_dtype(item));
        if (bench.dtypes.back() == DType::kF16) {
          throw std::invalid_argument("bench: --dtype f16 compute is not supported");
        }
      }
      if (bench.dtypes.empty()) throw std::invalid_argument("bench: --dtype is empty");
      if (bench.threads < 1 || bench.prompt_tokens < 1 || bench.decode_tokens < 1 ||
          bench.repeats < 1) {
        throw std::invalid_argument("bench: --threads, --prompt, --decode, --repeats must be >= 1");
      }
      return run_model_bench(bench);
    }
    if (*logits_cmd) {
      if (logits_threads < 1) throw std::invalid_argument("--threads must be >= 1");
      if (logits_dtype == "f16")
        throw std::invalid_argument("--dtype f16 compute is not supported");
      return run_logits(logits_dir, logits_tokens, logits_out, logits_dtype, logits_threads,
                        logits_prefill);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpserve model: %s\n", e.what());
    return 1;
  }
  return 2;
}

}  // namespace dpserve::engine
