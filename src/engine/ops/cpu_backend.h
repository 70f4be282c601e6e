// The CPU implementation of Backend: linears of up to kGemvMaxRows rows (decode) through the GEMV
// kernels of ops/gemv.h, larger ones through OpenBLAS sgemm (f32) or oneDNN (bf16), and plain
// loops split over a ThreadPool for the rest.
#pragma once

#include "engine/ops/backend.h"
#include "engine/ops/gemv.h"
#include "engine/ops/thread_pool.h"

#include <memory>
#include <optional>

namespace dpserve::engine {

class Bf16Matmul;

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options);
  ~CpuBackend() override;

  std::string name() const override;
  DType weight_dtype() const override { return options_.compute_dtype; }
  void prepare(LinearWeight& weight) override;
  void linear(const float* x, int64_t m, const LinearWeight& w, float* y) override;
  void rms_norm(const float* x, const float* weight, int64_t m, int64_t d, float eps,
                float* y) override;
  void rope(float* x, int64_t m, int n_heads, int64_t row_stride, int64_t head_stride,
            const int64_t* positions, const RopeTable& table, RopeStyle style) override;
  void silu_mul(const float* in, int64_t m, int64_t n, float* out) override;
  void softmax(float* x, int64_t m, int64_t n) override;
  void add(float* y, const float* x, int64_t n) override;
  void attention(const AttentionParams& p) override;

  ThreadPool& pool() { return pool_; }

 private:
  CpuBackendOptions options_;
  ThreadPool pool_;
  std::unique_ptr<Bf16Matmul> bf16_;
  // Which GEMV kernel small-M linears use; unset: the library path.
  std::optional<GemvIsa> gemv_isa_;
  GemvScratch gemv_scratch_;
};

}  // namespace dpserve::engine
