// `dpserve model bench DIR`: the engine-core roofline on this machine (memory bandwidth, matmul
// peak) and the model's prefill and batch-1 decode speed against it. A benchmark, not a test.
#pragma once

#include "engine/loader/dtype.h"

#include <string>
#include <vector>

namespace dpserve::engine {

struct ModelBenchOptions {
  std::string dir;
  int threads = 1;
  std::vector<DType> dtypes = {DType::kF32};  // each measured in turn, one floor line each
  int prompt_tokens = 512;
  int decode_tokens = 64;
  int repeats = 3;        // best of N for each measurement
  bool baseline = false;  // also time decode with library linears (OpenBLAS / oneDNN) for every M
};

int run_model_bench(const ModelBenchOptions& options);

}  // namespace dpserve::engine
