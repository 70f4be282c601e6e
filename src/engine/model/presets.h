// Seeded checkpoints in the HF layout, for tests, benchmarks and the default model (no model hub
// is reachable). `dpserve model create` is a thin CLI over create_checkpoint().
#pragma once

#include "engine/loader/dtype.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace dpserve::engine {

struct CreateOptions {
  std::string arch = "llama";   // llama | qwen2 | deepseek_v2 | deepseek_v3
  std::string preset = "tiny";  // tiny | small | medium
  uint64_t seed = 0;
  std::string out;
  DType dtype = DType::kF32;  // kF32, kBF16 or kF16 on disk
  // A shard holds at most this many bytes of tensor data (HF's max_shard_size); larger checkpoints
  // are written as model-0000i-of-0000n.safetensors plus model.safetensors.index.json.
  int64_t max_shard_bytes = int64_t{2} << 30;
};

// One tensor of a preset and how to initialise it.
struct TensorPlan {
  enum class Init { kNormal, kNorm, kBias };
  std::string name;
  std::vector<int64_t> shape;
  Init init = Init::kNormal;
};

struct PresetSpec {
  nlohmann::ordered_json config;  // config.json without the tokenizer ids
  std::vector<TensorPlan> tensors;
  std::string tokenizer_family;  // for build_tokenizer()
  float init_std = 0.02f;
};

// Throws std::invalid_argument for an unknown arch or preset.
PresetSpec make_preset(const std::string& arch, const std::string& preset);

// Writes config.json, generation_config.json, tokenizer files and the safetensors shard(s) into
// options.out (created if needed). Throws on bad options or I/O errors.
void create_checkpoint(const CreateOptions& options);

// The deterministic N(0, 1) stream of one tensor: depends only on (seed, name).
std::vector<float> seeded_normal(uint64_t seed, const std::string& name, size_t count);

}  // namespace dpserve::engine
