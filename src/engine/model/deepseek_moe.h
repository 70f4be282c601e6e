// DeepSeekMoE: a router (gate) picks top-k routed SwiGLU experts per token; shared experts always
// run. Routing follows HF's MoEGate: softmax or sigmoid scores, then greedy, group-limited greedy
// (groups ranked by their best expert) or noaux_tc (bias-corrected scores, groups ranked by the sum
// of their top-2). The bias only steers selection; weights come from the unbiased scores.
#pragma once

#include "engine/loader/checkpoint.h"
#include "engine/model/deepseek_config.h"
#include "engine/ops/backend.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dpserve::engine {

// Per-token routing decision: experts[r * k + j] with weight weights[r * k + j] (scaling included).
struct MoeRouting {
  int64_t k = 0;
  std::vector<int32_t> experts;
  std::vector<float> weights;
};

// Routes m rows of gate logits [m, n_routed_experts]. `bias` is e_score_correction_bias
// (n_routed_experts values) for noaux_tc, else null.
void route_experts(const DeepseekConfig& config, const float* logits, const float* bias, int64_t m,
                   MoeRouting& routing);

// A SwiGLU MLP: gate and up stacked in one linear, then down.
struct SwiGlu {
  LinearWeight gate_up;  // [2 * inter, hidden]
  LinearWeight down;     // [hidden, inter]
  int64_t inter = 0;
};

// Loads PREFIX.{gate,up,down}_proj and prepares them on the backend.
SwiGlu load_swiglu(const Checkpoint& checkpoint, const std::string& prefix, int64_t hidden,
                   int64_t inter, Backend& backend);

// y[m, hidden] = SwiGLU(x); `scratch` grows as needed.
void run_swiglu(Backend& backend, const SwiGlu& mlp, const float* x, int64_t m, float* y,
                std::vector<float>& scratch);

class DeepseekMoe {
 public:
  // prefix: "model.layers.N.mlp."
  DeepseekMoe(const Checkpoint& checkpoint, const std::string& prefix, const DeepseekConfig& config,
              Backend& backend);

  // out[m, hidden] = routed_scaling_factor-weighted routed experts + shared experts, of x.
  void forward(const float* x, int64_t m, float* out);

  const MoeRouting& last_routing() const { return routing_; }

 private:
  DeepseekConfig cfg_;
  Backend* backend_;
  // The router stays f32 whatever the backend computes in: a bf16-rounded gate flips near-tied
  // expert choices, which changes the output discontinuously.
  std::vector<float> gate_;  // [n_routed, hidden]
  std::vector<float> bias_;  // e_score_correction_bias, noaux_tc only
  std::vector<SwiGlu> experts_;
  std::unique_ptr<SwiGlu> shared_;
  // Scratch reused across calls.
  MoeRouting routing_;
  std::vector<float> logits_, rows_in_, rows_out_, mlp_scratch_;
  std::vector<int64_t> row_of_;
  std::vector<float> weight_of_;
};

}  // namespace dpserve::engine
