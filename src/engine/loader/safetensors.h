// safetensors reader: an 8-byte little-endian header length, a JSON header naming every tensor's
// dtype, shape and [begin, end) byte range in the data buffer, then the data. The file is treated
// as hostile: every range is bounds-checked against the file, sizes are checked against shapes with
// overflow checks, and overlapping ranges are rejected.
#pragma once

#include "engine/loader/dtype.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {

struct TensorInfo {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // outermost first, as PyTorch writes it
  uint64_t begin = 0;          // byte offsets relative to the start of the data buffer
  uint64_t end = 0;
  int64_t numel() const;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;  // file offset of the data buffer (8 + header length)
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};

// Parses and validates the header of a safetensors image of `file_size` bytes whose first bytes
// are `prefix` (at least the 8-byte length plus the header, or the whole file). Throws LoadError.
SafetensorsHeader parse_safetensors_header(std::string_view prefix, uint64_t file_size);

// A tensor's bytes inside a mapped file. `data` may be unaligned.
struct TensorView {
  std::string_view name;
  const TensorInfo* info = nullptr;
  const unsigned char* data = nullptr;
  size_t nbytes() const { return info->end - info->begin; }
};

// One read-only mmap'ed safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws LoadError
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  bool has(const std::string& name) const { return header_.tensors.count(name) != 0; }
  TensorView tensor(const std::string& name) const;  // throws LoadError if absent

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  SafetensorsHeader header_;
};

}  // namespace dpserve::engine
