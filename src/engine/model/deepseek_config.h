// DeepSeek-V2/V3 config.json, as HF's DeepseekV2Config / DeepseekV3Config write it: MLA dimensions,
// YaRN RoPE and the DeepSeekMoE routing knobs (engine-internals.md §5).
#pragma once

#include "engine/forward.h"
#include "engine/loader/hf_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dpserve::engine {

enum class MoeScoring { kSoftmax, kSigmoid };

enum class MoeTopk {
  kGreedy,              // top-k over all experts (V2-Lite)
  kGroupLimitedGreedy,  // best topk_group groups by their max score, then top-k (V2)
  kNoauxTc,             // bias-corrected scores, groups by their top-2 sum, then top-k (V3)
};

struct DeepseekConfig {
  std::string architecture;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t vocab = 0;
  int64_t max_positions = 0;
  double rms_eps = 1e-6;
  bool attention_bias = false;
  std::vector<int32_t> eos;

  // MLA. q_lora_rank == 0 means a direct q_proj (V2-Lite).
  int64_t q_lora_rank = 0;
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  double rope_theta = 10000.0;
  RopeScalingConfig rope_scaling;

  // Dense MLP and DeepSeekMoE.
  int64_t intermediate = 0;
  int64_t moe_intermediate = 0;
  int64_t n_routed_experts = 0;  // 0: every layer is dense
  int64_t n_shared_experts = 0;
  int64_t experts_per_tok = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  MoeScoring scoring = MoeScoring::kSoftmax;
  MoeTopk topk_method = MoeTopk::kGreedy;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // HF's DeepseekV2MLP/MoE placement rule.
  bool is_moe_layer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
  // 1/sqrt(qk_head_dim), times yarn_get_mscale(factor, mscale_all_dim)^2 under YaRN.
  float softmax_scale() const;
};

// Throws LoadError naming the offending key.
DeepseekConfig parse_deepseek_config(const HfConfig& config);

// KV contract for MLA: one latent row [c_KV ; k_R] per token and layer, no separate V.
ModelInfo deepseek_model_info(const DeepseekConfig& config);

}  // namespace dpserve::engine
