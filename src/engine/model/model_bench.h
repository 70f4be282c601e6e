// `dpserve model bench DIR`: the engine-core roofline on this machine (memory bandwidth, matmul
// peak) and the model's prefill and batch-1 decode speed against it. A benchmark, not a test.
#pragma once

#include "engine/loader/dtype.h"

#include <string>

namespace dpserve::engine {

struct ModelBenchOptions {
  std::string dir;
  int threads = 1;
  DType dtype = DType::kF32;
  int prompt_tokens = 512;
  int decode_tokens = 64;
  int repeats = 3;  // best of N for each measurement
};

int run_model_bench(const ModelBenchOptions& options);

}  // namespace dpserve::engine
