// A HF checkpoint folder: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Tensors are read through mmap and widened to f32 (or kept as bf16)
// on request, with the expected shape checked so a mismatched config fails at load, not mid-run.
#pragma once

#include "engine/loader/hf_config.h"
#include "engine/loader/safetensors.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dpserve::engine {

class Checkpoint {
 public:
  explicit Checkpoint(const std::string& dir);  // throws LoadError

  const std::string& dir() const { return dir_; }
  const HfConfig& config() const { return config_; }
  bool has(const std::string& name) const { return where_.count(name) != 0; }
  std::vector<std::string> tensor_names() const;
  TensorView tensor(const std::string& name) const;  // throws LoadError naming the tensor

  // The tensor as f32, after checking its shape equals `shape`.
  std::vector<float> load_f32(const std::string& name, const std::vector<int64_t>& shape) const;
  // The tensor as raw bf16 bits (converted from f32/f16 if stored that way).
  std::vector<uint16_t> load_bf16(const std::string& name, const std::vector<int64_t>& shape) const;
  // Total number of elements of all floating-point tensors.
  int64_t parameter_count() const;

 private:
  const TensorView& checked(const std::string& name, const std::vector<int64_t>& shape) const;

  std::string dir_;
  HfConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> where_;
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace dpserve::engine
