#include "engine/model/deepseek_moe.h"

#include "engine/model/weights.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace dpserve::engine {
namespace {

// Indices of the k largest values, best first; ties go to the lower index.
void top_k(const float* values, int64_t n, int64_t k, std::vector<int32_t>& order) {
  order.resize(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  order.resize(static_cast<size_t>(k));
}

}  // namespace

void route_experts(const DeepseekConfig& cfg, const float* logits, const float* bias, int64_t m,
                   MoeRouting& routing) {
  const int64_t n = cfg.n_routed_experts;
  const int64_t k = cfg.experts_per_tok;
  const int64_t per_group = cfg.topk_method == MoeTopk::kGreedy ? n : n / cfg.n_group;
  const int64_t groups = n / per_group;
  routing.k = k;
  routing.experts.resize(static_cast<size_t>(m * k));
  routing.weights.resize(static_cast<size_t>(m * k));
  std::vector<float> scores(n), choice(n), group_score(groups);
  std::vector<int32_t> order, kept_groups;
  for (int64_t r = 0; r < m; ++r) {
    const float* row = logits + r * n;
    if (cfg.scoring == MoeScoring::kSoftmax) {
      const float mx = *std::max_element(row, row + n);
      float sum = 0;
      for (int64_t e = 0; e < n; ++e) sum += scores[e] = std::exp(row[e] - mx);
      for (int64_t e = 0; e < n; ++e) scores[e] /= sum;
    } else {
      for (int64_t e = 0; e < n; ++e) scores[e] = 1.0f / (1.0f + std::exp(-row[e]));
    }
    for (int64_t e = 0; e < n; ++e) {
      choice[e] = scores[e] + (cfg.topk_method == MoeTopk::kNoauxTc && bias ? bias[e] : 0.0f);
    }
    if (cfg.topk_method != MoeTopk::kGreedy) {
      for (int64_t g = 0; g < groups; ++g) {
        const float* in_group = choice.data() + g * per_group;
        if (cfg.topk_method == MoeTopk::kGroupLimitedGreedy) {
          group_score[g] = *std::max_element(in_group, in_group + per_group);
        } else {
          top_k(in_group, per_group, 2, order);
          group_score[g] = in_group[order[0]] + in_group[order[1]];
        }
      }
      top_k(group_score.data(), groups, cfg.topk_group, kept_groups);
      std::vector<bool> kept(static_cast<size_t>(groups), false);
      for (int32_t g : kept_groups) kept[g] = true;
      // Masked experts can never be picked, even where a negative bias makes kept ones score < 0.
      for (int64_t e = 0; e < n; ++e) {
        if (!kept[e / per_group]) choice[e] = -std::numeric_limits<float>::infinity();
      }
    }
    top_k(choice.data(), n, k, order);
    float* w = &routing.weights[r * k];
    int32_t* ex = &routing.experts[r * k];
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      ex[j] = order[j];
      w[j] = scores[order[j]];
      sum += w[j];
    }
    const bool normalize = k > 1 && cfg.norm_topk_prob;
    for (int64_t j = 0; j < k; ++j) {
      if (normalize) w[j] /= sum + 1e-20f;
      w[j] *= static_cast<float>(cfg.routed_scaling_factor);
    }
  }
}

SwiGlu load_swiglu(const Checkpoint& ckpt, const std::string& prefix, int64_t hidden, int64_t inter,
                   Backend& backend) {
  const DType dt = backend.weight_dtype();
  SwiGlu mlp;
  mlp.inter = inter;
  LinearWeight gate = load_linear(ckpt, prefix + "gate_proj", inter, hidden, dt);
  LinearWeight up = load_linear(ckpt, prefix + "up_proj", inter, hidden, dt);
  mlp.gate_up = concat_rows({&gate, &up});
  mlp.down = load_linear(ckpt, prefix + "down_proj", hidden, inter, dt);
  backend.prepare(mlp.gate_up);
  backend.prepare(mlp.down);
  return mlp;
}

void run_swiglu(Backend& backend, const SwiGlu& mlp, const float* x, int64_t m, float* y,
                std::vector<float>& scratch) {
  scratch.resize(static_cast<size_t>(m * 3 * mlp.inter));
  float* gate_up = scratch.data();
  float* act = gate_up + m * 2 * mlp.inter;
  backend.linear(x, m, mlp.gate_up, gate_up);
  backend.silu_mul(gate_up, m, mlp.inter, act);
  backend.linear(act, m, mlp.down, y);
}

DeepseekMoe::DeepseekMoe(const Checkpoint& ckpt, const std::string& prefix,
                         const DeepseekConfig& config, Backend& backend)
    : cfg_(config), backend_(&backend) {
  const int64_t d = cfg_.hidden;
  gate_ = ckpt.load_f32(prefix + "gate.weight", {cfg_.n_routed_experts, d});
  if (cfg_.topk_method == MoeTopk::kNoauxTc) {
    bias_ = ckpt.load_f32(prefix + "gate.e_score_correction_bias", {cfg_.n_routed_experts});
  }
  experts_.reserve(static_cast<size_t>(cfg_.n_routed_experts));
  for (int64_t e = 0; e < cfg_.n_routed_experts; ++e) {
    experts_.push_back(load_swiglu(ckpt, prefix + "experts." + std::to_string(e) + ".", d,
                                   cfg_.moe_intermediate, backend));
  }
  if (cfg_.n_shared_experts > 0) {
    shared_ = std::make_unique<SwiGlu>(load_swiglu(ckpt, prefix + "shared_experts.", d,
                                                   cfg_.moe_intermediate * cfg_.n_shared_experts,
                                                   backend));
  }
}

void DeepseekMoe::forward(const float* x, int64_t m, float* out) {
  const int64_t d = cfg_.hidden;
  const int64_t n = cfg_.n_routed_experts;
  logits_.resize(static_cast<size_t>(m * n));
  for (int64_t r = 0; r < m; ++r) {
    const float* xr = x + r * d;
    for (int64_t e = 0; e < n; ++e) {
      const float* g = &gate_[e * d];
      float dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += xr[j] * g[j];
      logits_[r * n + e] = dot;
    }
  }
  route_experts(cfg_, logits_.data(), bias_.empty() ? nullptr : bias_.data(), m, routing_);

  if (shared_) {
    run_swiglu(*backend_, *shared_, x, m, out, mlp_scratch_);
  } else {
    std::fill(out, out + m * d, 0.0f);
  }
  // Each expert runs once over the rows routed to it, gathered into one contiguous block.
  const int64_t k = routing_.k;
  for (int64_t e = 0; e < n; ++e) {
    row_of_.clear();
    weight_of_.clear();
    for (int64_t i = 0; i < m * k; ++i) {
      if (routing_.experts[i] == e) {
        row_of_.push_back(i / k);
        weight_of_.push_back(routing_.weights[i]);
      }
    }
    const int64_t count = static_cast<int64_t>(row_of_.size());
    if (count == 0) continue;
    rows_in_.resize(static_cast<size_t>(count * d));
    rows_out_.resize(static_cast<size_t>(count * d));
    for (int64_t i = 0; i < count; ++i) {
      std::copy_n(x + row_of_[i] * d, d, &rows_in_[i * d]);
    }
    run_swiglu(*backend_, experts_[e], rows_in_.data(), count, rows_out_.data(), mlp_scratch_);
    for (int64_t i = 0; i < count; ++i) {
      float* o = out + row_of_[i] * d;
      const float* y = &rows_out_[i * d];
      const float w = weight_of_[i];
      for (int64_t j = 0; j < d; ++j) o[j] += w * y[j];
    }
  }
}

}  // namespace dpserve::engine
