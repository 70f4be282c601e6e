#include "engine/model/deepseek_mla.h"

#include "engine/model/weights.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace dpserve::engine {

MlaAttention::MlaAttention(const Checkpoint& ckpt, const DeepseekConfig& config, Backend& backend)
    : cfg_(config),
      backend_(&backend),
      rope_(make_rope_table(static_cast<int>(config.qk_rope_head_dim), config.rope_theta,
                            config.rope_scaling)),
      scale_(config.softmax_scale()) {
  const DType dt = backend.weight_dtype();
  const int64_t d = cfg_.hidden;
  const int64_t heads = cfg_.heads;
  const int64_t dn = cfg_.qk_nope_head_dim;
  const int64_t dv = cfg_.v_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t dq = cfg_.q_lora_rank;
  const bool bias = cfg_.attention_bias;
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    Layer layer;
    // Both down-projections read the same input, so they run as one linear.
    LinearWeight kv_a =
        load_linear(ckpt, p + "kv_a_proj_with_mqa", dc + cfg_.qk_rope_head_dim, d, dt, bias);
    if (dq > 0) {
      LinearWeight q_a = load_linear(ckpt, p + "q_a_proj", dq, d, dt, bias);
      layer.in_proj = concat_rows({&q_a, &kv_a});
      layer.q_a_norm = ckpt.load_f32(p + "q_a_layernorm.weight", {dq});
      layer.q_b = load_linear(ckpt, p + "q_b_proj", heads * cfg_.qk_head_dim(), dq, dt);
      backend.prepare(layer.q_b);
    } else {
      LinearWeight q = load_linear(ckpt, p + "q_proj", heads * cfg_.qk_head_dim(), d, dt);
      layer.in_proj = concat_rows({&q, &kv_a});
    }
    backend.prepare(layer.in_proj);
    layer.kv_a_norm = ckpt.load_f32(p + "kv_a_layernorm.weight", {dc});
    const std::vector<float> kv_b = ckpt.load_f32(p + "kv_b_proj.weight", {heads * (dn + dv), dc});
    layer.kv_b = linear_from_f32(kv_b, heads * (dn + dv), dc, dt);
    backend.prepare(layer.kv_b);
    // Split kv_b_proj per head into W_UKᵀ [dc, dn] and W_UV [dv, dc] for the absorbed path.
    std::vector<float> uk_t(static_cast<size_t>(dc * dn));
    std::vector<float> uv(static_cast<size_t>(dv * dc));
    for (int64_t h = 0; h < heads; ++h) {
      const float* head = &kv_b[static_cast<size_t>(h * (dn + dv) * dc)];
      for (int64_t i = 0; i < dn; ++i) {
        for (int64_t c = 0; c < dc; ++c) uk_t[c * dn + i] = head[i * dc + c];
      }
      std::copy_n(head + dn * dc, dv * dc, uv.begin());
      layer.w_uk_t.push_back(linear_from_f32(uk_t, dc, dn, dt));
      layer.w_uv.push_back(linear_from_f32(uv, dv, dc, dt));
      backend.prepare(layer.w_uk_t.back());
      backend.prepare(layer.w_uv.back());
    }
    layer.o = load_linear(ckpt, p + "o_proj", d, heads * dv, dt, bias);
    backend.prepare(layer.o);
    layers_.push_back(std::move(layer));
  }
}

bool MlaAttention::auto_absorbs(int64_t n, int64_t ctx) const {
  // Multiply-adds per layer of each path for n queries over ctx positions.
  const int64_t h = cfg_.heads;
  const int64_t dn = cfg_.qk_nope_head_dim;
  const int64_t dr = cfg_.qk_rope_head_dim;
  const int64_t dv = cfg_.v_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t expanded = ctx * dc * h * (dn + dv) + n * ctx * h * (dn + dr + dv);
  const int64_t absorbed = n * h * dn * dc + n * ctx * h * (2 * dc + dr) + n * h * dc * dv;
  return absorbed < expanded;
}

void MlaAttention::forward(int layer_index, const float* x, int64_t m, const int64_t* positions,
                           const Batch& batch, KvStorage& kv, MlaMode mode, float* out) {
  const Layer& layer = layers_[layer_index];
  const int64_t heads = cfg_.heads;
  const int64_t qk = cfg_.qk_head_dim();
  const int64_t dn = cfg_.qk_nope_head_dim;
  const int64_t dv = cfg_.v_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t dq = cfg_.q_lora_rank;
  const int64_t latent = dc + cfg_.qk_rope_head_dim;
  const int64_t q_part = dq > 0 ? dq : heads * qk;
  const int64_t width = q_part + latent;
  const float eps = static_cast<float>(cfg_.rms_eps);

  proj_.resize(static_cast<size_t>(m * width));
  backend_->linear(x, m, layer.in_proj, proj_.data());
  if (dq > 0) {
    q_lora_.resize(static_cast<size_t>(m * dq));
    for (int64_t r = 0; r < m; ++r) {
      backend_->rms_norm(&proj_[r * width], layer.q_a_norm.data(), 1, dq, eps, &q_lora_[r * dq]);
    }
    q_.resize(static_cast<size_t>(m * heads * qk));
    backend_->linear(q_lora_.data(), m, layer.q_b, q_.data());
    q_ptr_ = q_.data();
    q_stride_ = heads * qk;
  } else {
    q_ptr_ = proj_.data();
    q_stride_ = width;
  }
  for (int64_t r = 0; r < m; ++r) {
    float* row = &proj_[r * width + q_part];
    backend_->rms_norm(row, layer.kv_a_norm.data(), 1, dc, eps, row);
  }
  backend_->rope(q_ptr_ + dn, m, static_cast<int>(heads), q_stride_, qk, positions, rope_,
                 RopeStyle::kInterleaved);
  backend_->rope(proj_.data() + q_part + dc, m, 1, width, 0, positions, rope_,
                 RopeStyle::kInterleaved);

  attn_.resize(static_cast<size_t>(m * heads * dv));
  absorbed_rows_.clear();
  int64_t row = 0;
  for (const SeqInput& seq : batch.seqs) {
    const int64_t n = static_cast<int64_t>(seq.tokens.size());
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(kv.k(layer_index, seq.slots[seq.start_pos + j]),
                  &proj_[(row + j) * width + q_part], latent * sizeof(float));
    }
    const bool absorb = mode == MlaMode::kAbsorbed ||
                        (mode == MlaMode::kAuto && auto_absorbs(n, seq.start_pos + n));
    if (absorb) {
      for (int64_t j = 0; j < n; ++j) absorbed_rows_.push_back(row + j);
    } else {
      attend_expanded(layer_index, seq, q_ptr_ + row * q_stride_, kv, &attn_[row * heads * dv]);
    }
    row += n;
  }
  if (!absorbed_rows_.empty()) {
    absorb_queries(layer_index, absorbed_rows_);
    o_lat_.resize(absorbed_rows_.size() * static_cast<size_t>(heads * dc));
    // absorbed_rows_ lists sequences in batch order, so each one's rows are contiguous in it.
    row = 0;
    int64_t index = 0;
    for (const SeqInput& seq : batch.seqs) {
      const int64_t n = static_cast<int64_t>(seq.tokens.size());
      if (index < static_cast<int64_t>(absorbed_rows_.size()) && absorbed_rows_[index] == row) {
        attend_absorbed(layer_index, seq, index, kv);
        index += n;
      }
      row += n;
    }
    expand_outputs(layer_index, absorbed_rows_, attn_.data());
  }
  backend_->linear(attn_.data(), m, layer.o, out);
}

void MlaAttention::attend_expanded(int layer_index, const SeqInput& seq, const float* q,
                                   KvStorage& kv, float* out) {
  const Layer& layer = layers_[layer_index];
  const int64_t heads = cfg_.heads;
  const int64_t dn = cfg_.qk_nope_head_dim;
  const int64_t dr = cfg_.qk_rope_head_dim;
  const int64_t dv = cfg_.v_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t qk = dn + dr;
  const int64_t n = static_cast<int64_t>(seq.tokens.size());
  const int64_t ctx = seq.start_pos + n;

  latents_.resize(static_cast<size_t>(ctx * dc));
  for (int64_t p = 0; p < ctx; ++p) {
    std::memcpy(&latents_[p * dc], kv.k(layer_index, seq.slots[p]), dc * sizeof(float));
  }
  kv_up_.resize(static_cast<size_t>(ctx * heads * (dn + dv)));
  backend_->linear(latents_.data(), ctx, layer.kv_b, kv_up_.data());
  k_full_.resize(static_cast<size_t>(ctx * heads * qk));
  v_full_.resize(static_cast<size_t>(ctx * heads * dv));
  for (int64_t p = 0; p < ctx; ++p) {
    const float* k_rope = kv.k(layer_index, seq.slots[p]) + dc;
    for (int64_t h = 0; h < heads; ++h) {
      const float* up = &kv_up_[(p * heads + h) * (dn + dv)];
      float* k = &k_full_[(p * heads + h) * qk];
      std::memcpy(k, up, dn * sizeof(float));
      std::memcpy(k + dn, k_rope, dr * sizeof(float));
      std::memcpy(&v_full_[(p * heads + h) * dv], up + dn, dv * sizeof(float));
    }
  }
  if (static_cast<int64_t>(identity_.size()) < ctx) {
    identity_.resize(static_cast<size_t>(ctx));
    std::iota(identity_.begin(), identity_.end(), int64_t{0});
  }
  AttentionParams a;
  a.q = q;
  a.q_row_stride = q_stride_;
  a.n_tokens = n;
  a.n_heads = static_cast<int>(heads);
  a.n_kv_heads = static_cast<int>(heads);
  a.qk_dim = static_cast<int>(qk);
  a.v_dim = static_cast<int>(dv);
  a.start_pos = seq.start_pos;
  a.slots = std::span<const int64_t>(identity_.data(), static_cast<size_t>(ctx));
  a.k = k_full_.data();
  a.k_row_stride = heads * qk;
  a.v = v_full_.data();
  a.v_row_stride = heads * dv;
  a.scale = scale_;
  a.out = out;
  a.out_row_stride = heads * dv;
  backend_->attention(a);
}

void MlaAttention::absorb_queries(int layer_index, std::span<const int64_t> rows) {
  const Layer& layer = layers_[layer_index];
  const int64_t heads = cfg_.heads;
  const int64_t dn = cfg_.qk_nope_head_dim;
  const int64_t dr = cfg_.qk_rope_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t qk = dn + dr;
  const int64_t abs_width = heads * (dc + dr);
  const int64_t count = static_cast<int64_t>(rows.size());
  q_abs_.resize(static_cast<size_t>(count * abs_width));
  gather_in_.resize(static_cast<size_t>(count * dn));
  gather_out_.resize(static_cast<size_t>(count * dc));
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(&gather_in_[i * dn], q_ptr_ + rows[i] * q_stride_ + h * qk, dn * sizeof(float));
    }
    // q̃ = W_UKᵀ q_C: the head's query in latent space.
    backend_->linear(gather_in_.data(), count, layer.w_uk_t[h], gather_out_.data());
    for (int64_t i = 0; i < count; ++i) {
      float* dst = &q_abs_[i * abs_width + h * (dc + dr)];
      std::memcpy(dst, &gather_out_[i * dc], dc * sizeof(float));
      std::memcpy(dst + dc, q_ptr_ + rows[i] * q_stride_ + h * qk + dn, dr * sizeof(float));
    }
  }
}

void MlaAttention::attend_absorbed(int layer_index, const SeqInput& seq, int64_t index,
                                   KvStorage& kv) {
  const int64_t heads = cfg_.heads;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t dr = cfg_.qk_rope_head_dim;
  AttentionParams a;
  a.q = &q_abs_[index * heads * (dc + dr)];
  a.q_row_stride = heads * (dc + dr);
  a.n_tokens = static_cast<int64_t>(seq.tokens.size());
  a.n_heads = static_cast<int>(heads);
  a.n_kv_heads = 1;
  a.qk_dim = static_cast<int>(dc + dr);
  a.v_dim = static_cast<int>(dc);
  a.start_pos = seq.start_pos;
  a.slots = seq.slots;
  // The latent is both key (with k_R) and value (without).
  a.k = kv.k(layer_index, 0);
  a.k_row_stride = kv.k_width();
  a.v = a.k;
  a.v_row_stride = kv.k_width();
  a.scale = scale_;
  a.out = &o_lat_[index * heads * dc];
  a.out_row_stride = heads * dc;
  backend_->attention(a);
}

void MlaAttention::expand_outputs(int layer_index, std::span<const int64_t> rows, float* attn) {
  const Layer& layer = layers_[layer_index];
  const int64_t heads = cfg_.heads;
  const int64_t dv = cfg_.v_head_dim;
  const int64_t dc = cfg_.kv_lora_rank;
  const int64_t count = static_cast<int64_t>(rows.size());
  gather_in_.resize(static_cast<size_t>(count * dc));
  gather_out_.resize(static_cast<size_t>(count * dv));
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(&gather_in_[i * dc], &o_lat_[(i * heads + h) * dc], dc * sizeof(float));
    }
    // o = W_UV õ: back from latent space to the head's value space.
    backend_->linear(gather_in_.data(), count, layer.w_uv[h], gather_out_.data());
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(attn + rows[i] * heads * dv + h * dv, &gather_out_[i * dv], dv * sizeof(float));
    }
  }
}

}  // namespace dpserve::engine
