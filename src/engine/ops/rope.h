// Rotary position embedding tables: plain, linear, llama3 and YaRN (DeepSeek's formulation)
// frequency schedules, and the two element pairings HF models use.
#pragma once

#include "engine/loader/hf_config.h"

#include <cstdint>
#include <vector>

namespace dpserve::engine {

enum class RopeStyle {
  kNeox,         // HF Llama/Qwen "rotate_half": element i pairs with i + rot_dim / 2
  kInterleaved,  // GPT-J / DeepSeek: element 2i pairs with 2i + 1
};

struct RopeTable {
  int rot_dim = 0;
  std::vector<float> inv_freq;  // rot_dim / 2 entries, f32 as HF computes them
  float mscale = 1.0f;          // YaRN multiplies cos and sin by this
};

// theta is config "rope_theta". Throws LoadError for inconsistent scaling parameters.
RopeTable make_rope_table(int rot_dim, double theta, const RopeScalingConfig& scaling);

// YaRN's attention-magnitude correction: 0.1 * mscale * ln(scale) + 1 (1 when scale <= 1).
double yarn_get_mscale(double scale, double mscale);

}  // namespace dpserve::engine
