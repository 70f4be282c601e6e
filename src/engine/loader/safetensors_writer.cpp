#include "engine/loader/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace dpserve::engine {

void SafetensorsWriter::add(const std::string& name, std::vector<int64_t> shape,
                            const std::vector<float>& values, DType dtype) {
  Entry e{name, dtype, std::move(shape), {}};
  e.bytes.resize(values.size() * dtype_size(dtype));
  switch (dtype) {
    case DType::kF32:
      std::memcpy(e.bytes.data(), values.data(), e.bytes.size());
      break;
    case DType::kBF16:
    case DType::kF16:
      for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t v = dtype == DType::kBF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
        std::memcpy(e.bytes.data() + 2 * i, &v, 2);
      }
      break;
    default:
      throw std::invalid_argument("safetensors writer: unsupported dtype for " + name);
  }
  entries_.push_back(std::move(e));
}

uint64_t SafetensorsWriter::data_bytes() const {
  uint64_t total = 0;
  for (const auto& e : entries_) total += e.bytes.size();
  return total;
}

void SafetensorsWriter::write(const std::string& path) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  // Pad so the data buffer starts 8-byte aligned, which keeps f32 tensors aligned once mapped.
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path);
  unsigned char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& e : entries_) {
    out.write(reinterpret_cast<const char*>(e.bytes.data()),
              static_cast<std::streamsize>(e.bytes.size()));
  }
  out.flush();
  if (!out) throw std::runtime_error("write failed for " + path);
}

}  // namespace dpserve::engine
