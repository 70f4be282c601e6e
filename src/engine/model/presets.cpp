#include "engine/model/presets.h"

#include "engine/model/deepseek_preset.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace dpserve::engine {
namespace {

struct LlamaShape {
  int64_t hidden, layers, heads, kv_heads, intermediate, vocab, max_pos;
  float init_std;
};

// tiny: milliseconds per step, for tests. Its init_std is larger than HF's 0.02 so attention
// patterns are sharp enough that RoPE, masking or slot mistakes move the logits well above the
// test tolerance. small: ~100-125 M parameters (CPU benchmarks). medium: ~1.1-1.3 B (GPU).
LlamaShape llama_shape(const std::string& arch, const std::string& preset) {
  const bool qwen = arch == "qwen2";
  if (preset == "tiny") return {64, 2, 4, 2, 128, 512, 4096, 0.1f};
  if (preset == "small") return {768, 12, 12, qwen ? 2 : 4, 2048, 32000, 8192, 0.02f};
  if (preset == "medium") {
    if (qwen) return {1536, 28, 12, 2, 8960, 32000, 32768, 0.02f};
    return {2048, 22, 32, 4, 5632, 32000, 8192, 0.02f};
  }
  throw std::invalid_argument("unknown preset '" + preset + "' (tiny, small, medium)");
}

PresetSpec llama_preset(const std::string& arch, const std::string& preset) {
  const bool qwen = arch == "qwen2";
  const LlamaShape s = llama_shape(arch, preset);
  const int64_t head_dim = s.hidden / s.heads;
  PresetSpec spec;
  spec.tokenizer_family = qwen ? "qwen2" : "llama";
  spec.init_std = s.init_std;
  auto& c = spec.config;
  c["architectures"] = {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  c["model_type"] = qwen ? "qwen2" : "llama";
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.kv_heads;
  c["head_dim"] = head_dim;
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = s.max_pos;
  c["initializer_range"] = s.init_std;
  c["vocab_size"] = s.vocab;
  if (qwen) {
    c["rms_norm_eps"] = 1e-6;
    c["rope_theta"] = 1000000.0;
    c["rope_scaling"] = nullptr;
    c["tie_word_embeddings"] = true;
    c["use_sliding_window"] = false;
    c["sliding_window"] = nullptr;
    c["max_window_layers"] = s.layers;
    c["attention_dropout"] = 0.0;
  } else {
    // Llama 3.x style RoPE. The tiny preset's original context is short so that its head_dim 16
    // frequencies fall in all three llama3 bands (scaled, smoothed, kept).
    c["rms_norm_eps"] = 1e-5;
    c["rope_theta"] = preset == "tiny" ? 10000.0 : 500000.0;
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", preset == "tiny" ? 64 : 8192}};
    c["tie_word_embeddings"] = false;
    c["attention_bias"] = false;
    c["mlp_bias"] = false;
    c["attention_dropout"] = 0.0;
    c["pretraining_tp"] = 1;
  }
  c["use_cache"] = true;

  using Init = TensorPlan::Init;
  auto& t = spec.tensors;
  t.push_back({"model.embed_tokens.weight", {s.vocab, s.hidden}, Init::kNormal});
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {s.hidden}, Init::kNorm});
    t.push_back({p + "self_attn.q_proj.weight", {s.heads * head_dim, s.hidden}, Init::kNormal});
    t.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * head_dim, s.hidden}, Init::kNormal});
    t.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * head_dim, s.hidden}, Init::kNormal});
    if (qwen) {
      t.push_back({p + "self_attn.q_proj.bias", {s.heads * head_dim}, Init::kBias});
      t.push_back({p + "self_attn.k_proj.bias", {s.kv_heads * head_dim}, Init::kBias});
      t.push_back({p + "self_attn.v_proj.bias", {s.kv_heads * head_dim}, Init::kBias});
    }
    t.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * head_dim}, Init::kNormal});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}, Init::kNorm});
    t.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, Init::kNormal});
    t.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, Init::kNormal});
    t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, Init::kNormal});
  }
  t.push_back({"model.norm.weight", {s.hidden}, Init::kNorm});
  if (!qwen) t.push_back({"lm_head.weight", {s.vocab, s.hidden}, Init::kNormal});
  return spec;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

PresetSpec make_preset(const std::string& arch, const std::string& preset) {
  if (arch == "llama" || arch == "qwen2") return llama_preset(arch, preset);
  if (arch == "deepseek_v2" || arch == "deepseek_v3") return deepseek_preset(arch, preset);
  throw std::invalid_argument("unknown --arch '" + arch +
                              "' (llama, qwen2, deepseek_v2, deepseek_v3)");
}

std::vector<float> seeded_normal(uint64_t seed, const std::string& name, size_t count) {
  // FNV-1a of the name, mixed with the seed: each tensor has its own stream, so values do not
  // depend on tensor order or sharding.
  uint64_t state = 0xcbf29ce484222325ull;
  for (unsigned char ch : name) state = (state ^ ch) * 0x100000001b3ull;
  state ^= seed * 0x9e3779b97f4a7c15ull;
  std::vector<float> out(count);
  for (size_t i = 0; i < count; i += 2) {
    // Box-Muller: portable, unlike std::normal_distribution.
    const double u1 = (static_cast<double>(splitmix64(state) >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = static_cast<float>(r * std::cos(2 * std::numbers::pi * u2));
    if (i + 1 < count) out[i + 1] = static_cast<float>(r * std::sin(2 * std::numbers::pi * u2));
  }
  return out;
}

}  // namespace dpserve::engine
