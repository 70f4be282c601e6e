// Minimal .npy (format 1.0) for 2-D little-endian f32 arrays: how `dpserve model logits` hands
// logits to the NumPy reference and to tools/hf_compare.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dpserve::engine {

struct NpyArray {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;  // row-major
};

void write_npy(const std::string& path, const NpyArray& array);  // throws std::runtime_error
NpyArray read_npy(const std::string& path);                      // throws std::runtime_error

}  // namespace dpserve::engine
