// create_checkpoint(): a preset's config and seeded tensors, written exactly as HF's
// save_pretrained lays a model out, plus the family's tokenizer files.
#include "engine/loader/safetensors_writer.h"
#include "engine/model/presets.h"
#include "engine/tokenizer/tokenizer_builder.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace dpserve::engine {
namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  out << text;
  if (!out) throw std::runtime_error("write failed for " + path.string());
}

std::vector<float> init_values(const TensorPlan& plan, uint64_t seed, float std_dev) {
  size_t count = 1;
  for (int64_t d : plan.shape) count *= static_cast<size_t>(d);
  std::vector<float> v = seeded_normal(seed, plan.name, count);
  const float base = plan.init == TensorPlan::Init::kNorm ? 1.0f : 0.0f;
  for (auto& x : v) x = base + std_dev * x;
  return v;
}

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    default:
      return "float32";
  }
}

}  // namespace

void create_checkpoint(const CreateOptions& options) {
  namespace fs = std::filesystem;
  if (options.out.empty()) throw std::invalid_argument("model create: --out is required");
  if (options.dtype != DType::kF32 && options.dtype != DType::kBF16 &&
      options.dtype != DType::kF16) {
    throw std::invalid_argument("model create: dtype must be f32, bf16 or f16");
  }
  if (options.max_shard_bytes <= 0) throw std::invalid_argument("model create: bad shard size");
  PresetSpec spec = make_preset(options.arch, options.preset);
  const int vocab = spec.config["vocab_size"].get<int>();
  TokenizerFiles tok = build_tokenizer(spec.tokenizer_family, vocab);

  auto& c = spec.config;
  c["bos_token_id"] = tok.bos_id;
  if (tok.eos_ids.size() == 1) {
    c["eos_token_id"] = tok.eos_ids[0];
  } else {
    c["eos_token_id"] = tok.eos_ids;
  }
  c["torch_dtype"] = torch_dtype_name(options.dtype);
  c["transformers_version"] = "4.46.0";

  fs::create_directories(options.out);
  const fs::path dir(options.out);
  // Stale shards of an earlier, differently sharded run would confuse loaders.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".safetensors") || name == "model.safetensors.index.json") {
      fs::remove(entry.path());
    }
  }

  // Group tensors into shards in order, as HF does.
  const int64_t elem = static_cast<int64_t>(dtype_size(options.dtype));
  std::vector<std::vector<const TensorPlan*>> shards(1);
  int64_t in_shard = 0;
  int64_t total = 0;
  for (const auto& plan : spec.tensors) {
    int64_t bytes = elem;
    for (int64_t d : plan.shape) bytes *= d;
    if (in_shard > 0 && in_shard + bytes > options.max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&plan);
    in_shard += bytes;
    total += bytes;
  }

  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    std::string file = "model.safetensors";
    if (shards.size() > 1) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
      file = buf;
    }
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (const TensorPlan* plan : shards[s]) {
      writer.add(plan->name, plan->shape, init_values(*plan, options.seed, spec.init_std),
                 options.dtype);
      weight_map[plan->name] = file;
    }
    writer.write((dir / file).string());
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = weight_map;
    write_text(dir / "model.safetensors.index.json", index.dump(2) + "\n");
  }

  write_text(dir / "config.json", c.dump(2) + "\n");
  nlohmann::ordered_json gen;
  gen["bos_token_id"] = c["bos_token_id"];
  gen["eos_token_id"] = c["eos_token_id"];
  gen["transformers_version"] = c["transformers_version"];
  write_text(dir / "generation_config.json", gen.dump(2) + "\n");
  write_text(dir / "tokenizer.json", tok.tokenizer_json);
  write_text(dir / "tokenizer_config.json", tok.tokenizer_config_json);
}

}  // namespace dpserve::engine
