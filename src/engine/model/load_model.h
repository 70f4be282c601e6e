// Entry point from a checkpoint folder to a runnable Model.
#pragma once

#include "engine/forward.h"
#include "engine/loader/dtype.h"

#include <memory>
#include <string>

namespace dpserve::engine {

struct LoadOptions {
  int threads = 1;
  // Dtype linears compute in: kF32 (OpenBLAS) or kBF16 (oneDNN). Everything else is f32.
  DType compute_dtype = DType::kF32;
  // Decode-size linears through the backend's GEMV kernels (CpuBackendOptions::gemv).
  bool gemv = true;
};

// Reads DIR/config.json, dispatches on architectures[0] and loads the weights. Throws LoadError
// (unsupported architecture, missing tensor, wrong shape, truncated file, ...).
std::unique_ptr<Model> load_model(const std::string& dir, const LoadOptions& options);

// The same dispatch without reading weights: what `dpserve model inspect` and the KV pool sizing
// need. Throws LoadError.
ModelInfo describe_model(const std::string& dir);

}  // namespace dpserve::engine
