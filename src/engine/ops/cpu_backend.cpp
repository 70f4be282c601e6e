#include "engine/ops/cpu_backend.h"

#include "engine/ops/bf16_matmul.h"
#include "engine/ops/vec.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace dpserve::engine {

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : options_(options), pool_(std::max(options.threads, 1)) {
  // OpenBLAS keeps its own pthreads; our pool never calls BLAS from several threads at once.
  openblas_set_num_threads(std::max(options.threads, 1));
  if (options.compute_dtype == DType::kBF16) {
    bf16_ = std::make_unique<Bf16Matmul>(std::max(options.threads, 1));
  } else if (options.compute_dtype != DType::kF32) {
    throw std::invalid_argument("cpu backend: compute dtype must be f32 or bf16");
  }
  if (options.gemv) {
    if (options.compute_dtype == DType::kBF16) {
      gemv_isa_ = best_gemv_isa_bf16();
    } else if (gemv_isa_supported(GemvIsa::kAvx512)) {
      // Without AVX-512 OpenBLAS's own AVX2 sgemv beats the portable kernel.
      gemv_isa_ = GemvIsa::kAvx512;
    }
  }
}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::name() const {
  std::string name =
      options_.compute_dtype == DType::kBF16 ? "cpu-bf16(onednn" : "cpu-f32(openblas";
  if (gemv_isa_) name += std::string(", gemv ") + gemv_isa_name(*gemv_isa_);
  return name + ")";
}

void CpuBackend::prepare(LinearWeight& weight) {
  if (weight.dtype != options_.compute_dtype) {
    throw std::invalid_argument("cpu backend: weight dtype does not match the compute dtype");
  }
  if (bf16_) bf16_->prepare(weight);
}

void CpuBackend::linear(const float* x, int64_t m, const LinearWeight& w, float* y) {
  if (m <= 0) return;
  if (gemv_isa_ && m <= kGemvMaxRows) {
    // Libraries' GEMMs re-read or pack W for reuse that a few rows do not have; these kernels
    // stream it once (and oneDNN's bf16 GEMM at M = 1 ran ~10x slower than OpenBLAS's sgemv).
    if (w.dtype == DType::kBF16) {
      gemv_bf16(*gemv_isa_, x, m, w.bf16.data(), w.out, w.in, y, pool_, gemv_scratch_);
    } else {
      gemv_f32(*gemv_isa_, x, m, w.f32.data(), w.out, w.in, y, pool_);
    }
  } else if (w.dtype == DType::kBF16) {
    bf16_->run(x, m, w, y);
  } else if (m == 1) {
    // OpenBLAS's sgemm at M=1 is ~3x slower than its sgemv (cpp-craft.md 3.1).
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(w.out),
                static_cast<blasint>(w.in), 1.0f, w.f32.data(), static_cast<blasint>(w.in), x, 1,
                0.0f, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m),
                static_cast<blasint>(w.out), static_cast<blasint>(w.in), 1.0f, x,
                static_cast<blasint>(w.in), w.f32.data(), static_cast<blasint>(w.in), 0.0f, y,
                static_cast<blasint>(w.out));
  }
  if (!w.bias.empty()) {
    for (int64_t r = 0; r < m; ++r) {
      float* row = y + r * w.out;
      for (int64_t j = 0; j < w.out; ++j) row[j] += w.bias[j];
    }
  }
}

void CpuBackend::rms_norm(const float* x, const float* weight, int64_t m, int64_t d, float eps,
                          float* y) {
  pool_.parallel_for(m, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * d;
      float* out = y + r * d;
      double sum = 0;
      for (int64_t j = 0; j < d; ++j) sum += double{in[j]} * in[j];
      const float inv = 1.0f / std::sqrt(static_cast<float>(sum / d) + eps);
      for (int64_t j = 0; j < d; ++j) out[j] = weight[j] * (in[j] * inv);
    }
  });
}

void CpuBackend::rope(float* x, int64_t m, int n_heads, int64_t row_stride, int64_t head_stride,
                      const int64_t* positions, const RopeTable& table, RopeStyle style) {
  const int half = table.rot_dim / 2;
  pool_.parallel_for(m, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> cos_v, sin_v;
    cos_v.resize(half);
    sin_v.resize(half);
    for (int64_t r = begin; r < end; ++r) {
      const float pos = static_cast<float>(positions[r]);
      for (int i = 0; i < half; ++i) {
        // HF forms the angle in f32 before cos/sin.
        const float angle = pos * table.inv_freq[i];
        cos_v[i] = static_cast<float>(std::cos(double{angle})) * table.mscale;
        sin_v[i] = static_cast<float>(std::sin(double{angle})) * table.mscale;
      }
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + r * row_stride + h * head_stride;
        for (int i = 0; i < half; ++i) {
          const int a = style == RopeStyle::kNeox ? i : 2 * i;
          const int b = style == RopeStyle::kNeox ? i + half : 2 * i + 1;
          const float x0 = v[a];
          const float x1 = v[b];
          v[a] = x0 * cos_v[i] - x1 * sin_v[i];
          v[b] = x1 * cos_v[i] + x0 * sin_v[i];
        }
      }
    }
  });
}

void CpuBackend::silu_mul(const float* in, int64_t m, int64_t n, float* out) {
  pool_.parallel_for(m, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* gate = in + r * 2 * n;
      const float* up = gate + n;
      float* o = out + r * n;
      for (int64_t j = 0; j < n; ++j) o[j] = gate[j] / (1.0f + std::exp(-gate[j])) * up[j];
    }
  });
}

void CpuBackend::softmax(float* x, int64_t m, int64_t n) {
  for (int64_t r = 0; r < m; ++r) {
    float* row = x + r * n;
    const float mx = *std::max_element(row, row + n);
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += row[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  }
}

void CpuBackend::add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void CpuBackend::attention(const AttentionParams& p) {
  if (p.n_tokens <= 0) return;
  if (p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads != 0) {
    throw std::invalid_argument("attention: n_heads must be a multiple of n_kv_heads");
  }
  if (static_cast<int64_t>(p.slots.size()) < p.start_pos + p.n_tokens) {
    throw std::invalid_argument("attention: fewer slots than positions");
  }
  const int group = p.n_heads / p.n_kv_heads;
  pool_.parallel_for(p.n_tokens * p.n_heads, [&](int64_t begin, int64_t end) {
    // Per thread, reused across steps: decode must not allocate per head.
    thread_local std::vector<float> scores;
    thread_local std::vector<float> acc;
    acc.resize(p.v_dim);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / p.n_heads;
      const int h = static_cast<int>(task % p.n_heads);
      const int kvh = h / group;
      const int64_t ctx = p.start_pos + i + 1;
      const float* q = p.q + i * p.q_row_stride + int64_t{h} * p.qk_dim;
      scores.resize(ctx);
      float mx = -INFINITY;
      for (int64_t t = 0; t < ctx; ++t) {
        const float* k = p.k + p.slots[t] * p.k_row_stride + int64_t{kvh} * p.qk_dim;
        scores[t] = dot_f32(q, k, p.qk_dim) * p.scale;
        mx = std::max(mx, scores[t]);
      }
      float sum = 0;
      for (int64_t t = 0; t < ctx; ++t) {
        scores[t] = std::exp(scores[t] - mx);
        sum += scores[t];
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t t = 0; t < ctx; ++t) {
        const float* v = p.v + p.slots[t] * p.v_row_stride + int64_t{kvh} * p.v_dim;
        axpy_f32(acc.data(), scores[t], v, p.v_dim);
      }
      float* out = p.out + i * p.out_row_stride + int64_t{h} * p.v_dim;
      const float inv = 1.0f / sum;
      for (int d = 0; d < p.v_dim; ++d) out[d] = acc[d] * inv;
    }
  });
}

std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace dpserve::engine
