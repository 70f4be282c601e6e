#include "engine/model/weights.h"

namespace dpserve::engine {

LinearWeight load_linear(const Checkpoint& checkpoint, const std::string& prefix, int64_t out,
                         int64_t in, DType dtype, bool bias) {
  LinearWeight w;
  w.out = out;
  w.in = in;
  w.dtype = dtype;
  if (dtype == DType::kBF16) {
    w.bf16 = checkpoint.load_bf16(prefix + ".weight", {out, in});
  } else {
    w.f32 = checkpoint.load_f32(prefix + ".weight", {out, in});
  }
  if (bias) w.bias = checkpoint.load_f32(prefix + ".bias", {out});
  return w;
}

LinearWeight linear_from_f32(const std::vector<float>& values, int64_t out, int64_t in,
                             DType dtype) {
  LinearWeight w;
  w.out = out;
  w.in = in;
  w.dtype = dtype;
  if (dtype == DType::kBF16) {
    w.bf16.resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) w.bf16[i] = f32_to_bf16(values[i]);
  } else {
    w.f32 = values;
  }
  return w;
}

}  // namespace dpserve::engine
