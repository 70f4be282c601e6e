#include "engine/model/deepseek_preset.h"

#include <stdexcept>

namespace dpserve::engine {
namespace {

struct DeepseekShape {
  int64_t hidden, layers, heads, q_lora, kv_lora, nope, rope, v, intermediate, moe_intermediate;
  int64_t routed, shared, top_k, groups, top_groups, first_dense, vocab, original_ctx;
  double yarn_factor;
  float init_std;
};

// tiny: milliseconds per step, for tests; its init_std is large enough that attention and routing
// are decisive, so a wrong RoPE pair, mask or expert choice moves logits far above tolerance. Its
// original context is short so YaRN's ramp spans the extrapolated, blended and interpolated bands
// of a 16-wide rope head. v_head_dim differs from qk_nope_head_dim in V2 to catch mixed-up strides.
// small: ~125-135 M parameters (CPU benchmarks). medium: ~1.1 B (GPU).
DeepseekShape deepseek_shape(bool v3, const std::string& preset) {
  if (preset == "tiny") {
    return {64, 3,          4, v3 ? 48 : 0, 32, 16, 16,  v3 ? 16 : 24, 128,  32,
            8,  v3 ? 1 : 2, 2, 4,           2,  1,  512, 128,          32.0, 0.1f};
  }
  if (preset == "small") {
    return {768,         12,
            12,          v3 ? 384 : 0,
            256,         64,
            32,          64,
            2048,        v3 ? 128 : 192,
            v3 ? 16 : 8, v3 ? 1 : 2,
            v3 ? 4 : 2,  4,
            2,           1,
            32000,       2048,
            4.0,         0.02f};
  }
  if (preset == "medium") {
    return {2048, 14, 16, v3 ? 768 : 0, 512,  128, 64,   128, 5632, 512, 16, v3 ? 1 : 2, v3 ? 4 : 2,
            4,    2,  1,  32000,        4096, 4.0, 0.02f};
  }
  throw std::invalid_argument("unknown preset '" + preset + "' (tiny, small, medium)");
}

}  // namespace

PresetSpec deepseek_preset(const std::string& arch, const std::string& preset) {
  if (arch != "deepseek_v2" && arch != "deepseek_v3") {
    throw std::invalid_argument("deepseek preset: unknown arch '" + arch + "'");
  }
  const bool v3 = arch == "deepseek_v3";
  const DeepseekShape s = deepseek_shape(v3, preset);
  PresetSpec spec;
  spec.tokenizer_family = arch;
  spec.init_std = s.init_std;
  auto& c = spec.config;
  c["architectures"] = {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  c["model_type"] = arch;
  c["vocab_size"] = s.vocab;
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["moe_intermediate_size"] = s.moe_intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.heads;
  c["n_shared_experts"] = s.shared;
  c["n_routed_experts"] = s.routed;
  c["routed_scaling_factor"] = v3 ? 2.5 : 2.0;
  c["kv_lora_rank"] = s.kv_lora;
  if (s.q_lora > 0) {
    c["q_lora_rank"] = s.q_lora;
  } else {
    c["q_lora_rank"] = nullptr;
  }
  c["qk_rope_head_dim"] = s.rope;
  c["v_head_dim"] = s.v;
  c["qk_nope_head_dim"] = s.nope;
  c["topk_method"] = v3 ? "noaux_tc" : "group_limited_greedy";
  c["n_group"] = s.groups;
  c["topk_group"] = s.top_groups;
  c["num_experts_per_tok"] = s.top_k;
  c["moe_layer_freq"] = 1;
  c["first_k_dense_replace"] = s.first_dense;
  c["norm_topk_prob"] = v3;
  c["scoring_func"] = v3 ? "sigmoid" : "softmax";
  if (!v3) {
    c["aux_loss_alpha"] = 0.001;
    c["seq_aux"] = true;
  }
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = static_cast<int64_t>(s.original_ctx * s.yarn_factor);
  c["initializer_range"] = s.init_std;
  c["rms_norm_eps"] = 1e-6;
  c["use_cache"] = true;
  c["rope_theta"] = 10000.0;
  // V2's published mscale equals mscale_all_dim, which cancels YaRN's cos/sin factor; the tiny V2
  // preset makes them differ so that factor is exercised too. V3 publishes 1.0 / 1.0.
  const bool tiny = preset == "tiny";
  c["rope_scaling"] = {{"type", "yarn"},
                       {"factor", s.yarn_factor},
                       {"original_max_position_embeddings", s.original_ctx},
                       {"beta_fast", 32},
                       {"beta_slow", 1},
                       {"mscale", v3 ? 1.0 : (tiny ? 1.0 : 0.707)},
                       {"mscale_all_dim", v3 ? 1.0 : 0.707}};
  c["attention_bias"] = false;
  c["attention_dropout"] = 0.0;
  c["tie_word_embeddings"] = false;

  using Init = TensorPlan::Init;
  auto& t = spec.tensors;
  const int64_t qk = s.nope + s.rope;
  auto mlp = [&](const std::string& p, int64_t inter) {
    t.push_back({p + "gate_proj.weight", {inter, s.hidden}, Init::kNormal});
    t.push_back({p + "up_proj.weight", {inter, s.hidden}, Init::kNormal});
    t.push_back({p + "down_proj.weight", {s.hidden, inter}, Init::kNormal});
  };
  t.push_back({"model.embed_tokens.weight", {s.vocab, s.hidden}, Init::kNormal});
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::string a = p + "self_attn.";
    if (s.q_lora > 0) {
      t.push_back({a + "q_a_proj.weight", {s.q_lora, s.hidden}, Init::kNormal});
      t.push_back({a + "q_a_layernorm.weight", {s.q_lora}, Init::kNorm});
      t.push_back({a + "q_b_proj.weight", {s.heads * qk, s.q_lora}, Init::kNormal});
    } else {
      t.push_back({a + "q_proj.weight", {s.heads * qk, s.hidden}, Init::kNormal});
    }
    t.push_back({a + "kv_a_proj_with_mqa.weight", {s.kv_lora + s.rope, s.hidden}, Init::kNormal});
    t.push_back({a + "kv_a_layernorm.weight", {s.kv_lora}, Init::kNorm});
    t.push_back({a + "kv_b_proj.weight", {s.heads * (s.nope + s.v), s.kv_lora}, Init::kNormal});
    t.push_back({a + "o_proj.weight", {s.hidden, s.heads * s.v}, Init::kNormal});
    if (l < s.first_dense) {
      mlp(p + "mlp.", s.intermediate);
    } else {
      t.push_back({p + "mlp.gate.weight", {s.routed, s.hidden}, Init::kNormal});
      if (v3) t.push_back({p + "mlp.gate.e_score_correction_bias", {s.routed}, Init::kBias});
      for (int64_t e = 0; e < s.routed; ++e) {
        mlp(p + "mlp.experts." + std::to_string(e) + ".", s.moe_intermediate);
      }
      mlp(p + "mlp.shared_experts.", s.moe_intermediate * s.shared);
    }
    t.push_back({p + "input_layernorm.weight", {s.hidden}, Init::kNorm});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}, Init::kNorm});
  }
  t.push_back({"model.norm.weight", {s.hidden}, Init::kNorm});
  t.push_back({"lm_head.weight", {s.vocab, s.hidden}, Init::kNormal});
  return spec;
}

}  // namespace dpserve::engine
