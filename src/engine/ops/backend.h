// The ops interface a model is written against. The CPU backend implements it over host memory;
// a CUDA backend implements the same calls over device memory later (buffers are then device
// pointers and `prepare` uploads weights). Every op is batched over rows so one call serves a whole
// mixed prefill/decode batch.
#pragma once

#include "engine/loader/dtype.h"
#include "engine/ops/linear_weight.h"
#include "engine/ops/rope.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace dpserve::engine {

// Attention of one sequence's new tokens over its cached keys/values, addressed by slot.
// Query i sits at position start_pos + i and attends causally to positions [0, start_pos + i].
// Key of kv head h at position p: k + slots[p] * k_row_stride + h * qk_dim (same for v with v_dim).
// Query heads map to kv heads in groups (GQA): q head j uses kv head j / (n_heads / n_kv_heads).
// MLA's absorbed decode is n_kv_heads = 1 with v pointing into the key row.
struct AttentionParams {
  const float* q = nullptr;  // n_tokens rows of n_heads * qk_dim, row stride q_row_stride
  int64_t q_row_stride = 0;
  int64_t n_tokens = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int qk_dim = 0;
  int v_dim = 0;
  int64_t start_pos = 0;
  std::span<const int64_t> slots;  // at least start_pos + n_tokens entries
  const float* k = nullptr;
  int64_t k_row_stride = 0;
  const float* v = nullptr;
  int64_t v_row_stride = 0;
  float scale = 1.0f;
  float* out = nullptr;  // n_tokens rows of n_heads * v_dim, row stride out_row_stride
  int64_t out_row_stride = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The dtype linear weights should be stored in for this backend (kF32 or kBF16).
  virtual DType weight_dtype() const = 0;
  // Called once per weight after loading; may reorder or upload it.
  virtual void prepare(LinearWeight& weight) = 0;

  // y[m, out] = x[m, in] · Wᵀ (+ bias).
  virtual void linear(const float* x, int64_t m, const LinearWeight& w, float* y) = 0;
  // y[r] = x[r] / rms(x[r]) * weight, per row of d (y may equal x).
  virtual void rms_norm(const float* x, const float* weight, int64_t m, int64_t d, float eps,
                        float* y) = 0;
  // Rotates the first rot_dim elements of each of n_heads heads per row in place. Row r holds
  // head h at x + r * row_stride + h * head_stride, and sits at positions[r].
  virtual void rope(float* x, int64_t m, int n_heads, int64_t row_stride, int64_t head_stride,
                    const int64_t* positions, const RopeTable& table, RopeStyle style) = 0;
  // out[r, j] = silu(in[r, j]) * in[r, n + j]; `in` rows are [gate(n) | up(n)].
  virtual void silu_mul(const float* in, int64_t m, int64_t n, float* out) = 0;
  // Row-wise softmax in place.
  virtual void softmax(float* x, int64_t m, int64_t n) = 0;
  // y[i] += x[i].
  virtual void add(float* y, const float* x, int64_t n) = 0;
  virtual void attention(const AttentionParams& p) = 0;
};

struct CpuBackendOptions {
  int threads = 1;
  DType compute_dtype = DType::kF32;  // kF32: OpenBLAS; kBF16: bf16 weights through oneDNN
  // Linears of at most kGemvMaxRows rows (decode) through the GEMV kernels (ops/gemv.h) on the
  // backend's own threads. false: OpenBLAS / oneDNN for every row count (the baseline they are
  // measured against).
  bool gemv = true;
};

// Throws std::invalid_argument if compute_dtype is unsupported on this CPU.
std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options);

}  // namespace dpserve::engine
