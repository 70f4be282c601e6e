#include "engine/ops/rope.h"

#include "engine/loader/load_error.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dpserve::engine {
namespace {

double yarn_correction_dim(double rotations, int dim, double base, double max_pos) {
  return (dim * std::log(max_pos / (rotations * 2 * std::numbers::pi))) / (2 * std::log(base));
}

}  // namespace

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

RopeTable make_rope_table(int rot_dim, double theta, const RopeScalingConfig& scaling) {
  if (rot_dim <= 0 || rot_dim % 2 != 0) throw LoadError("rope: rotary dim must be even and > 0");
  RopeTable table;
  table.rot_dim = rot_dim;
  const int half = rot_dim / 2;
  // HF: 1 / base ** (arange(0, dim, 2).float() / dim), computed in f32.
  std::vector<float> base_freq(half);
  for (int i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
    base_freq[i] = 1.0f / std::pow(static_cast<float>(theta), exponent);
  }
  table.inv_freq = base_freq;
  if (scaling.type == "linear") {
    for (auto& f : table.inv_freq) f = static_cast<float>(f / scaling.factor);
  } else if (scaling.type == "llama3") {
    const double old_len = static_cast<double>(scaling.original_max_position_embeddings);
    const double low_wavelen = old_len / scaling.low_freq_factor;
    const double high_wavelen = old_len / scaling.high_freq_factor;
    for (auto& f : table.inv_freq) {
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / scaling.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_len / wavelen - scaling.low_freq_factor) /
                              (scaling.high_freq_factor - scaling.low_freq_factor);
        f = static_cast<float>((1 - smooth) * f / scaling.factor + smooth * f);
      }
    }
  } else if (scaling.type == "yarn") {
    const double max_pos = static_cast<double>(scaling.original_max_position_embeddings);
    double low = std::floor(yarn_correction_dim(scaling.beta_fast, rot_dim, theta, max_pos));
    double high = std::ceil(yarn_correction_dim(scaling.beta_slow, rot_dim, theta, max_pos));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(rot_dim - 1));
    if (low == high) high += 0.001;
    for (int i = 0; i < half; ++i) {
      const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      const double extrapolation = 1.0 - ramp;  // weight of the unscaled frequency
      const double inter = base_freq[i] / scaling.factor;
      table.inv_freq[i] =
          static_cast<float>(inter * (1 - extrapolation) + base_freq[i] * extrapolation);
    }
    table.mscale = static_cast<float>(yarn_get_mscale(scaling.factor, scaling.mscale) /
                                      yarn_get_mscale(scaling.factor, scaling.mscale_all_dim));
  }
  return table;
}

}  // namespace dpserve::engine
