#include "engine/model/deepseek_config.h"

#include "engine/loader/load_error.h"
#include "engine/ops/rope.h"

#include <cmath>

namespace dpserve::engine {
namespace {

[[noreturn]] void bad(const std::string& why) { throw LoadError("config.json: " + why); }

MoeScoring parse_scoring(const std::string& name) {
  if (name == "softmax") return MoeScoring::kSoftmax;
  if (name == "sigmoid") return MoeScoring::kSigmoid;
  bad("scoring_func '" + name + "' is not supported (softmax, sigmoid)");
}

MoeTopk parse_topk_method(const std::string& name) {
  if (name == "greedy") return MoeTopk::kGreedy;
  if (name == "group_limited_greedy") return MoeTopk::kGroupLimitedGreedy;
  if (name == "noaux_tc") return MoeTopk::kNoauxTc;
  bad("topk_method '" + name + "' is not supported (greedy, group_limited_greedy, noaux_tc)");
}

void check_moe(const DeepseekConfig& c) {
  if (c.n_routed_experts == 0) return;
  if (c.moe_intermediate <= 0) bad("moe_intermediate_size must be positive");
  if (c.n_shared_experts < 0) bad("n_shared_experts must be >= 0");
  if (c.experts_per_tok <= 0 || c.experts_per_tok > c.n_routed_experts) {
    bad("num_experts_per_tok must be in [1, n_routed_experts]");
  }
  if (c.moe_layer_freq <= 0) bad("moe_layer_freq must be positive");
  if (c.first_k_dense_replace < 0) bad("first_k_dense_replace must be >= 0");
  if (c.topk_method == MoeTopk::kGreedy) return;
  if (c.n_group <= 0 || c.n_routed_experts % c.n_group != 0) {
    bad("n_group must divide n_routed_experts");
  }
  if (c.topk_group <= 0 || c.topk_group > c.n_group) bad("topk_group must be in [1, n_group]");
  const int64_t per_group = c.n_routed_experts / c.n_group;
  if (c.topk_method == MoeTopk::kNoauxTc && per_group < 2) {
    bad("noaux_tc scores groups by their top-2 experts: need >= 2 experts per group");
  }
  if (c.experts_per_tok > c.topk_group * per_group) {
    bad("num_experts_per_tok exceeds the experts of topk_group groups");
  }
}

}  // namespace

float DeepseekConfig::softmax_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (rope_scaling.type == "yarn" && rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return static_cast<float>(scale);
}

DeepseekConfig parse_deepseek_config(const HfConfig& c) {
  DeepseekConfig cfg;
  cfg.architecture = c.architecture();
  const bool v3 = cfg.architecture == "DeepseekV3ForCausalLM";
  cfg.hidden = c.get_int("hidden_size");
  cfg.layers = c.get_int("num_hidden_layers");
  cfg.heads = c.get_int("num_attention_heads");
  cfg.vocab = c.get_int("vocab_size");
  cfg.max_positions = c.get_int("max_position_embeddings", 0);
  cfg.rms_eps = c.get_double("rms_norm_eps", 1e-6);
  cfg.attention_bias = c.get_bool("attention_bias", false);
  cfg.eos = c.get_int_list("eos_token_id");
  if (c.get_bool("tie_word_embeddings", false)) {
    bad("tied embeddings are not supported for DeepSeek");
  }
  // DeepSeek-V3's published weights are block-scaled fp8 (weight_scale_inv tensors); say so plainly
  // instead of failing later on an unknown tensor dtype.
  if (c.has("quantization_config")) {
    bad("quantization_config is set: quantized (e.g. fp8) checkpoints are not supported; convert "
        "to bf16 first");
  }
  const std::string act = c.get_string("hidden_act", "silu");
  if (act != "silu") bad("hidden_act '" + act + "' is not supported");

  cfg.q_lora_rank = c.get_int("q_lora_rank", 0);
  cfg.kv_lora_rank = c.get_int("kv_lora_rank");
  cfg.qk_nope_head_dim = c.get_int("qk_nope_head_dim");
  cfg.qk_rope_head_dim = c.get_int("qk_rope_head_dim");
  cfg.v_head_dim = c.get_int("v_head_dim");
  cfg.rope_theta = c.get_double("rope_theta", 10000.0);
  cfg.rope_scaling = parse_rope_scaling(c);
  if (cfg.rope_scaling.type == "llama3") bad("llama3 rope_scaling is not a DeepSeek schedule");

  cfg.intermediate = c.get_int("intermediate_size");
  cfg.n_routed_experts = c.get_int("n_routed_experts", 0);
  if (cfg.n_routed_experts > 0) {
    cfg.moe_intermediate = c.get_int("moe_intermediate_size");
    cfg.n_shared_experts = c.get_int("n_shared_experts", 0);
    cfg.experts_per_tok = c.get_int("num_experts_per_tok");
    cfg.first_k_dense_replace = c.get_int("first_k_dense_replace", 0);
    cfg.moe_layer_freq = c.get_int("moe_layer_freq", 1);
    cfg.scoring = parse_scoring(c.get_string("scoring_func", v3 ? "sigmoid" : "softmax"));
    cfg.topk_method = parse_topk_method(c.get_string("topk_method", v3 ? "noaux_tc" : "greedy"));
    cfg.n_group = c.get_int("n_group", 1);
    cfg.topk_group = c.get_int("topk_group", 1);
    cfg.norm_topk_prob = c.get_bool("norm_topk_prob", false);
    cfg.routed_scaling_factor = c.get_double("routed_scaling_factor", 1.0);
  }

  if (cfg.hidden <= 0 || cfg.layers <= 0 || cfg.heads <= 0 || cfg.vocab <= 0 ||
      cfg.intermediate <= 0) {
    bad("sizes must be positive");
  }
  if (cfg.q_lora_rank < 0 || cfg.kv_lora_rank <= 0 || cfg.qk_nope_head_dim <= 0 ||
      cfg.v_head_dim <= 0) {
    bad("MLA ranks and head dims must be positive (q_lora_rank may be null)");
  }
  if (cfg.qk_rope_head_dim <= 0 || cfg.qk_rope_head_dim % 2 != 0) {
    bad("qk_rope_head_dim must be even and positive");
  }
  check_moe(cfg);
  return cfg;
}

ModelInfo deepseek_model_info(const DeepseekConfig& cfg) {
  ModelInfo info;
  info.architecture = cfg.architecture;
  info.num_layers = static_cast<int>(cfg.layers);
  info.vocab_size = static_cast<int>(cfg.vocab);
  info.max_position_embeddings = static_cast<int>(cfg.max_positions);
  info.kv_k_width = static_cast<int>(cfg.kv_lora_rank + cfg.qk_rope_head_dim);
  info.kv_v_width = 0;
  info.eos_token_ids = cfg.eos;
  return info;
}

}  // namespace dpserve::engine
