// Matrix-vector kernels for decode: y[m, out] = x[m, in] · Wᵀ for m <= kGemvMaxRows, W in HF's
// [out, in] row-major layout, f32 accumulation. Decode at small batch reads every weight once per
// step and does 2 * m flops per weight, so these kernels are built to stream W at memory
// bandwidth: each W row block is read once and used for all m activation rows, and rows are split
// over the thread pool. GEMM libraries (oneDNN) pack or tile for reuse that M = 1 does not have.
//
// The instruction set is picked at run time from cpuid, so the project keeps its baseline flags:
// the AVX-512 kernels are compiled per function with target attributes.
#pragma once

#include <cstdint>
#include <vector>

namespace dpserve::engine {

class ThreadPool;

inline constexpr int64_t kGemvMaxRows = 4;

enum class GemvIsa {
  kGeneric,     // portable C++ (the compiler's baseline vectorisation)
  kAvx512,      // AVX-512F FMA; bf16 weights widened to f32 in registers
  kAvx512Bf16,  // AVX-512 BF16 vdpbf16ps on bf16 activations and weights (bf16 weights only)
};

const char* gemv_isa_name(GemvIsa isa);
bool gemv_isa_supported(GemvIsa isa);
// The fastest supported ISA for bf16 weights (f32 weights: the fastest of kGeneric / kAvx512).
GemvIsa best_gemv_isa_bf16();
GemvIsa best_gemv_isa_f32();

// Reusable per-caller buffers (activations converted to bf16 once per call).
struct GemvScratch {
  std::vector<uint16_t> x_bf16;
};

// y = x · Wᵀ for W of bf16 bits. kAvx512Bf16 rounds x to bf16 (round to nearest even); the other
// ISAs keep x in f32. Requires 1 <= m <= kGemvMaxRows and a supported isa.
void gemv_bf16(GemvIsa isa, const float* x, int64_t m, const uint16_t* w, int64_t out, int64_t in,
               float* y, ThreadPool& pool, GemvScratch& scratch);

// y = x · Wᵀ for f32 W. isa is kGeneric or kAvx512.
void gemv_f32(GemvIsa isa, const float* x, int64_t m, const float* w, int64_t out, int64_t in,
              float* y, ThreadPool& pool);

}  // namespace dpserve::engine
