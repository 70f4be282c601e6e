// Small vector primitives for the per-head loops of attention (dot products over a head, scaled
// adds into an accumulator). Dispatched once to AVX-512 where the CPU has it: without -ffast-math
// the compiler keeps a float dot product scalar, and at decode attention is the largest cost after
// the linears.
#pragma once

#include <cstdint>

namespace dpserve::engine {

// sum_i a[i] * b[i], accumulated in f32.
float dot_f32(const float* a, const float* b, int64_t n);
// y[i] += alpha * x[i].
void axpy_f32(float* y, float alpha, const float* x, int64_t n);

}  // namespace dpserve::engine
