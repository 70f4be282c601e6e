// Element types of checkpoint tensors and the scalar conversions between them.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace dpserve::engine {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// safetensors spelling ("F32", "BF16", ...); nullopt for anything we do not know.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType dtype);
size_t dtype_size(DType dtype);

inline float bf16_to_f32(uint16_t v) {
  uint32_t bits = uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Round to nearest even, as torch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float f);

// Widens `count` elements of a floating-point tensor (F32, F16, BF16, F64) into `out`.
// The source may be unaligned (mmap'ed checkpoint data).
void convert_to_f32(DType dtype, const void* src, size_t count, float* out);

}  // namespace dpserve::engine
