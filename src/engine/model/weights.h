// Loading helpers shared by architectures: a Linear's weight (+ optional bias) in the backend's
// dtype, with its shape checked against the config.
#pragma once

#include "engine/loader/checkpoint.h"
#include "engine/ops/linear_weight.h"

#include <string>

namespace dpserve::engine {

// Loads PREFIX.weight as [out, in] in `dtype`; with `bias`, also PREFIX.bias as [out].
LinearWeight load_linear(const Checkpoint& checkpoint, const std::string& prefix, int64_t out,
                         int64_t in, DType dtype, bool bias = false);

// A LinearWeight over an already-loaded f32 matrix (tied embeddings as the LM head).
LinearWeight linear_from_f32(const std::vector<float>& values, int64_t out, int64_t in,
                             DType dtype);

}  // namespace dpserve::engine
