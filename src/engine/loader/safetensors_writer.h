// Writes a safetensors file the way HF's `save_file` does: header JSON padded with spaces to a
// multiple of 8 bytes, tensors laid out in order with no holes.
#pragma once

#include "engine/loader/dtype.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dpserve::engine {

class SafetensorsWriter {
 public:
  // Stores an f32 tensor, converted to `dtype` (kF32, kBF16 or kF16) on the way in.
  void add(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
           DType dtype);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  uint64_t data_bytes() const;
  // Throws std::runtime_error on I/O failure.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<unsigned char> bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace dpserve::engine
