#include "engine/ops/gemv.h"

#include "engine/loader/dtype.h"
#include "engine/ops/thread_pool.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <stdexcept>

namespace dpserve::engine {
namespace {

// W rows handled together: each activation vector loaded once feeds kBlock dot products, and
// kBlock * m accumulators (at most 16) stay in registers.
constexpr int kBlock = 4;
// Below this many weights per thread a wake-up costs more than the work it saves.
constexpr int64_t kMinWeightsPerTask = 32 * 1024;

// GCC 12's AVX-512 intrinsics pass `_mm512_undefined_*()` (a self-initialised variable) as the
// unused merge source, which -Wuninitialized flags once inlined (GCC PR 105593, fixed in 12.3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define DPSERVE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define DPSERVE_TARGET_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// ---- portable -------------------------------------------------------------------------------

inline float widen(float v) { return v; }
inline float widen(uint16_t v) { return bf16_to_f32(v); }

// Eight partial sums per dot product so the compiler can vectorise without -ffast-math.
template <typename W>
void rows_generic(const float* x, int64_t m, int64_t in, const W* w, int64_t r0, int64_t r1,
                  float* y, int64_t out) {
  constexpr int kLanes = 8;
  for (int64_t r = r0; r < r1; ++r) {
    const W* wr = w + r * in;
    for (int64_t i = 0; i < m; ++i) {
      const float* xi = x + i * in;
      float part[kLanes] = {};
      int64_t k = 0;
      for (; k + kLanes <= in; k += kLanes) {
        for (int l = 0; l < kLanes; ++l) part[l] += xi[k + l] * widen(wr[k + l]);
      }
      float acc = 0;
      for (; k < in; ++k) acc += xi[k] * widen(wr[k]);
      for (int l = 0; l < kLanes; ++l) acc += part[l];
      y[i * out + r] = acc;
    }
  }
}

// Each row is its own stream, often exactly one 4 KiB page (bf16, in = 2048), and hardware
// prefetchers stop at page boundaries and ramp up again on every new row. Touching the same
// column of the next row block keeps a block's worth of lines in flight (+12-19% single-thread
// streaming on the dev VM). Prefetches past the matrix end are harmless: they never fault.
template <int R, typename W>
inline void prefetch_next_block(const W* p, int64_t in) {
  if constexpr (R == kBlock) __builtin_prefetch(p + kBlock * in);
}

// ---- AVX-512F: 16 f32 lanes, bf16 weights widened by a 16-bit shift ---------------------------

DPSERVE_TARGET_AVX512 inline __m512 load_w16(const float* p, __mmask16 mask) {
  return _mm512_maskz_loadu_ps(mask, p);
}
DPSERVE_TARGET_AVX512 inline __m512 load_w16(const uint16_t* p, __mmask16 mask) {
  const __m256i h = _mm256_maskz_loadu_epi16(mask, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
DPSERVE_TARGET_AVX512 inline __m512 load_w16(const float* p) { return _mm512_loadu_ps(p); }
DPSERVE_TARGET_AVX512 inline __m512 load_w16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// R rows of W starting at row r, against M activation rows.
template <int M, int R, typename W>
DPSERVE_TARGET_AVX512 inline void block_avx512(const float* x, int64_t in, const W* w, int64_t r,
                                               float* y, int64_t out) {
  __m512 acc[M][R];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < R; ++j) acc[i][j] = _mm512_setzero_ps();
  const W* wr = w + r * in;
  const int64_t full = in & ~int64_t{15};
  for (int64_t k = 0; k < full; k += 16) {
    __m512 wv[R];
    for (int j = 0; j < R; ++j) {
      prefetch_next_block<R>(wr + j * in + k, in);
      wv[j] = load_w16(wr + j * in + k);
    }
    for (int i = 0; i < M; ++i) {
      const __m512 xv = _mm512_loadu_ps(x + i * in + k);
      for (int j = 0; j < R; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  if (full < in) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (in - full)) - 1);
    __m512 wv[R];
    for (int j = 0; j < R; ++j) wv[j] = load_w16(wr + j * in + full, mask);
    for (int i = 0; i < M; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + i * in + full);
      for (int j = 0; j < R; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < R; ++j) y[i * out + r + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int M, typename W>
DPSERVE_TARGET_AVX512 void rows_avx512(const float* x, int64_t in, const W* w, int64_t r0,
                                       int64_t r1, float* y, int64_t out) {
  int64_t r = r0;
  for (; r + kBlock <= r1; r += kBlock) block_avx512<M, kBlock>(x, in, w, r, y, out);
  for (; r < r1; ++r) block_avx512<M, 1>(x, in, w, r, y, out);
}

// ---- AVX-512 BF16: vdpbf16ps, 32 bf16 products per instruction into 16 f32 lanes -----------

template <int M, int R>
DPSERVE_TARGET_AVX512BF16 inline void block_dpbf16(const uint16_t* x, int64_t in, const uint16_t* w,
                                                   int64_t r, float* y, int64_t out) {
  __m512 acc[M][R];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < R; ++j) acc[i][j] = _mm512_setzero_ps();
  const uint16_t* wr = w + r * in;
  const int64_t full = in & ~int64_t{31};
  for (int64_t k = 0; k < full; k += 32) {
    __m512bh wv[R];
    for (int j = 0; j < R; ++j) {
      prefetch_next_block<R>(wr + j * in + k, in);
      wv[j] = (__m512bh)_mm512_loadu_si512(wr + j * in + k);
    }
    for (int i = 0; i < M; ++i) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + i * in + k);
      for (int j = 0; j < R; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  if (full < in) {
    // Masked-off lanes load as 0, and 0 * 0 adds nothing.
    const __mmask32 mask = static_cast<__mmask32>((uint64_t{1} << (in - full)) - 1);
    __m512bh wv[R];
    for (int j = 0; j < R; ++j)
      wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr + j * in + full);
    for (int i = 0; i < M; ++i) {
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x + i * in + full);
      for (int j = 0; j < R; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < R; ++j) y[i * out + r + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int M>
DPSERVE_TARGET_AVX512BF16 void rows_dpbf16(const uint16_t* x, int64_t in, const uint16_t* w,
                                           int64_t r0, int64_t r1, float* y, int64_t out) {
  int64_t r = r0;
  for (; r + kBlock <= r1; r += kBlock) block_dpbf16<M, kBlock>(x, in, w, r, y, out);
  for (; r < r1; ++r) block_dpbf16<M, 1>(x, in, w, r, y, out);
}

// Round to nearest even, as f32_to_bf16 does (vcvtne2ps2bf16 also makes NaNs quiet).
DPSERVE_TARGET_AVX512BF16 void to_bf16_avx512(const float* x, int64_t n, uint16_t* out) {
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k));
    _mm512_storeu_si512(out + k, (__m512i)v);
  }
  for (; k < n; ++k) out[k] = f32_to_bf16(x[k]);
}

#pragma GCC diagnostic pop

// ---- dispatch -------------------------------------------------------------------------------

template <typename Fn>
void for_each_task(ThreadPool& pool, int64_t out, int64_t in, const Fn& rows) {
  const int64_t blocks = (out + kBlock - 1) / kBlock;
  const int64_t tasks =
      std::clamp<int64_t>(out * in / kMinWeightsPerTask, 1, std::min<int64_t>(pool.size(), blocks));
  if (tasks == 1) {
    rows(0, out);
    return;
  }
  // Contiguous row ranges per thread keep each thread's reads sequential.
  pool.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
    const int64_t b0 = blocks * t0 / tasks, b1 = blocks * t1 / tasks;
    rows(b0 * kBlock, std::min(out, b1 * kBlock));
  });
}

void check_args(int64_t m, GemvIsa isa) {
  if (m < 1 || m > kGemvMaxRows) throw std::invalid_argument("gemv: m must be in [1, 4]");
  if (!gemv_isa_supported(isa)) {
    throw std::invalid_argument(std::string("gemv: ") + gemv_isa_name(isa) +
                                " is not supported on this CPU");
  }
}

template <typename W>
void run_avx512(const float* x, int64_t m, int64_t in, const W* w, int64_t r0, int64_t r1, float* y,
                int64_t out) {
  switch (m) {
    case 1:
      return rows_avx512<1>(x, in, w, r0, r1, y, out);
    case 2:
      return rows_avx512<2>(x, in, w, r0, r1, y, out);
    case 3:
      return rows_avx512<3>(x, in, w, r0, r1, y, out);
    default:
      return rows_avx512<4>(x, in, w, r0, r1, y, out);
  }
}

void run_dpbf16(const uint16_t* x, int64_t m, int64_t in, const uint16_t* w, int64_t r0, int64_t r1,
                float* y, int64_t out) {
  switch (m) {
    case 1:
      return rows_dpbf16<1>(x, in, w, r0, r1, y, out);
    case 2:
      return rows_dpbf16<2>(x, in, w, r0, r1, y, out);
    case 3:
      return rows_dpbf16<3>(x, in, w, r0, r1, y, out);
    default:
      return rows_dpbf16<4>(x, in, w, r0, r1, y, out);
  }
}

}  // namespace

const char* gemv_isa_name(GemvIsa isa) {
  switch (isa) {
    case GemvIsa::kGeneric:
      return "generic";
    case GemvIsa::kAvx512:
      return "avx512f";
    case GemvIsa::kAvx512Bf16:
      return "avx512bf16";
  }
  return "?";
}

bool gemv_isa_supported(GemvIsa isa) {
  // libgcc reports AVX-512 features only when the OS saves the zmm state (XCR0).
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case GemvIsa::kGeneric:
      return true;
    case GemvIsa::kAvx512:
      return avx512;
    case GemvIsa::kAvx512Bf16:
      return avx512 && __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

GemvIsa best_gemv_isa_bf16() {
  if (gemv_isa_supported(GemvIsa::kAvx512Bf16)) return GemvIsa::kAvx512Bf16;
  return best_gemv_isa_f32();
}

GemvIsa best_gemv_isa_f32() {
  return gemv_isa_supported(GemvIsa::kAvx512) ? GemvIsa::kAvx512 : GemvIsa::kGeneric;
}

void gemv_bf16(GemvIsa isa, const float* x, int64_t m, const uint16_t* w, int64_t out, int64_t in,
               float* y, ThreadPool& pool, GemvScratch& scratch) {
  check_args(m, isa);
  if (isa == GemvIsa::kAvx512Bf16) {
    scratch.x_bf16.resize(static_cast<size_t>(m * in));
    to_bf16_avx512(x, m * in, scratch.x_bf16.data());
    const uint16_t* xb = scratch.x_bf16.data();
    for_each_task(pool, out, in,
                  [&](int64_t r0, int64_t r1) { run_dpbf16(xb, m, in, w, r0, r1, y, out); });
  } else if (isa == GemvIsa::kAvx512) {
    for_each_task(pool, out, in,
                  [&](int64_t r0, int64_t r1) { run_avx512(x, m, in, w, r0, r1, y, out); });
  } else {
    for_each_task(pool, out, in,
                  [&](int64_t r0, int64_t r1) { rows_generic(x, m, in, w, r0, r1, y, out); });
  }
}

void gemv_f32(GemvIsa isa, const float* x, int64_t m, const float* w, int64_t out, int64_t in,
              float* y, ThreadPool& pool) {
  check_args(m, isa);
  if (isa == GemvIsa::kAvx512Bf16) throw std::invalid_argument("gemv: f32 weights need f32 FMA");
  if (isa == GemvIsa::kAvx512) {
    for_each_task(pool, out, in,
                  [&](int64_t r0, int64_t r1) { run_avx512(x, m, in, w, r0, r1, y, out); });
  } else {
    for_each_task(pool, out, in,
                  [&](int64_t r0, int64_t r1) { rows_generic(x, m, in, w, r0, r1, y, out); });
  }
}

}  // namespace dpserve::engine
