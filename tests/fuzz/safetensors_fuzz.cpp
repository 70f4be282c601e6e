// The safetensors header parser on arbitrary bytes: it must either throw LoadError or return
// ranges that lie inside the input, never read outside it.
#include "engine/loader/load_error.h"
#include "engine/loader/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto header = dpserve::engine::parse_safetensors_header(bytes, size);
    if (header.data_offset > size) std::abort();
    const uint64_t data_size = size - header.data_offset;
    for (const auto& [name, info] : header.tensors) {
      if (info.begin > info.end || info.end > data_size) std::abort();
      const auto elem = dpserve::engine::dtype_size(info.dtype);
      const size_t count = std::min<uint64_t>((info.end - info.begin) / elem, 64);
      const auto d = info.dtype;
      using dpserve::engine::DType;
      if (d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 || d == DType::kF64) {
        std::vector<float> out(count);
        dpserve::engine::convert_to_f32(d, data + header.data_offset + info.begin, count,
                                        out.data());
      }
    }
  } catch (const dpserve::engine::LoadError&) {
  }
  return 0;
}
