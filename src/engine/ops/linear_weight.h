// A Linear layer's weight in HF layout [out, in] (row-major), optional bias, in the dtype the
// backend computes with. Backends may attach prepared state (reordered or device copies).
#pragma once

#include "engine/loader/dtype.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace dpserve::engine {

struct LinearWeight {
  int64_t out = 0;
  int64_t in = 0;
  DType dtype = DType::kF32;       // kF32 (data in f32) or kBF16 (data in bf16)
  std::vector<float> f32;          // out * in, when dtype == kF32
  std::vector<uint16_t> bf16;      // out * in, when dtype == kBF16
  std::vector<float> bias;         // empty, or `out` values (Qwen2 q/k/v)
  std::shared_ptr<void> prepared;  // owned by the backend that filled it

  int64_t weight_bytes() const { return out * in * static_cast<int64_t>(dtype_size(dtype)); }
};

// Stacks weights with the same `in` along `out` (fused QKV, fused gate/up). Biases are stacked
// too; a part without bias contributes zeros if any part has one.
LinearWeight concat_rows(const std::vector<const LinearWeight*>& parts);

}  // namespace dpserve::engine
