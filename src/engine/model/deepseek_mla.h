// Multi-head Latent Attention (DeepSeek-V2/V3, engine-internals.md §5.1-5.2). Each token caches one
// latent row [c_KV (kv_lora_rank, RMSNorm'ed) ; k_R (qk_rope_head_dim, roped)] per layer; both
// attention paths read and write exactly that row:
//  - expanded: kv_b_proj up-projects the cached latents to per-head K/V, then plain MHA
//    (cheapest for long prefill chunks);
//  - absorbed: W_UK is folded into the query and W_UV into the output, so attention is MQA with
//    one 576-wide KV head read straight from the cache (cheapest for decode).
#pragma once

#include "engine/forward.h"
#include "engine/loader/checkpoint.h"
#include "engine/model/deepseek_config.h"
#include "engine/ops/backend.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

enum class MlaMode {
  kAuto,      // per sequence, whichever path needs fewer FLOPs
  kExpanded,  // always up-project the latents (reference path for tests)
  kAbsorbed,  // always the weight-absorbed MQA form
};

class MlaAttention {
 public:
  MlaAttention(const Checkpoint& checkpoint, const DeepseekConfig& config, Backend& backend);

  // x: [m, hidden] normed rows of the batch's new tokens (sequence after sequence); positions:
  // their positions. Writes each token's latent row into its KV slot of `layer`, attends, and
  // writes o_proj's output [m, hidden] into out.
  void forward(int layer, const float* x, int64_t m, const int64_t* positions, const Batch& batch,
               KvStorage& kv, MlaMode mode, float* out);

  // Whether kAuto takes the absorbed path for n new tokens over a context of ctx positions.
  bool auto_absorbs(int64_t n, int64_t ctx) const;

 private:
  struct Layer {
    LinearWeight in_proj;  // [q_a_proj | kv_a_proj_with_mqa] or [q_proj | kv_a_proj_with_mqa]
    std::vector<float> q_a_norm;
    LinearWeight q_b;  // q_lora_rank > 0 only
    std::vector<float> kv_a_norm;
    LinearWeight kv_b;                 // [heads * (nope + v), kv_lora_rank]
    std::vector<LinearWeight> w_uk_t;  // per head W_UKᵀ: [kv_lora_rank, nope]
    std::vector<LinearWeight> w_uv;    // per head W_UV: [v, kv_lora_rank]
    LinearWeight o;
  };

  void attend_expanded(int layer, const SeqInput& seq, const float* q, KvStorage& kv, float* out);
  void absorb_queries(int layer, std::span<const int64_t> rows);
  // `index`: the position of the sequence's first row in absorbed_rows_.
  void attend_absorbed(int layer, const SeqInput& seq, int64_t index, KvStorage& kv);
  void expand_outputs(int layer, std::span<const int64_t> rows, float* attn);

  DeepseekConfig cfg_;
  Backend* backend_;
  RopeTable rope_;
  float scale_ = 1.0f;
  std::vector<Layer> layers_;
  // Scratch reused across layers and steps; a model is driven by one thread at a time.
  std::vector<float> proj_, q_lora_, q_, attn_;
  std::vector<float> latents_, kv_up_, k_full_, v_full_;
  std::vector<float> q_abs_, o_lat_, gather_in_, gather_out_;
  std::vector<int64_t> identity_, absorbed_rows_;
  float* q_ptr_ = nullptr;  // roped queries of this layer: [m, heads * qk] at q_stride_
  int64_t q_stride_ = 0;
};

}  // namespace dpserve::engine
