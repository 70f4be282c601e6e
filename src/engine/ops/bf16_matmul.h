// bf16 linears through oneDNN (v2 API, as bookworm ships 2.6): bf16 activations and weights,
// f32 accumulation and output. oneDNN picks AVX512-BF16 or AMX kernels at run time. Primitives
// are expensive to create, so they are cached per (M, N, K).
#pragma once

#include "engine/ops/linear_weight.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

namespace dpserve::engine {

class Bf16Matmul {
 public:
  // Throws std::invalid_argument if oneDNN has no bf16 matmul for this CPU.
  explicit Bf16Matmul(int threads);
  ~Bf16Matmul();
  Bf16Matmul(const Bf16Matmul&) = delete;
  Bf16Matmul& operator=(const Bf16Matmul&) = delete;

  void prepare(LinearWeight& weight);
  // y[m, out] = x[m, in] · Wᵀ, without bias.
  void run(const float* x, int64_t m, const LinearWeight& w, float* y);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpserve::engine
