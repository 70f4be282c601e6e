#include "engine/loader/dtype.h"

#include "engine/loader/load_error.h"

#include <cmath>

namespace dpserve::engine {
namespace {

struct DTypeName {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr DTypeName kDTypes[] = {
    {DType::kF32, "F32", 4},   {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8},   {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& d : kDTypes) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

size_t dtype_size(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

float f16_to_f32(uint16_t v) {
  const uint32_t sign = uint32_t{v & 0x8000u} << 16;
  const uint32_t exp = (v >> 10) & 0x1fu;
  const uint32_t mant = v & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    // Zero or subnormal: value = mant * 2^-24.
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.0f) return sign | 0x7c00u;  // rounds to infinity
  if (a < 6.103515625e-05f) {
    // Subnormal half: multiples of 2^-24, round to nearest even.
    const float q = std::nearbyint(a * 16777216.0f);
    return sign | static_cast<uint16_t>(q);
  }
  uint32_t abits = bits & 0x7fffffffu;
  // Re-bias exponent from 127 to 15 and round the 13 dropped mantissa bits to nearest even.
  abits += 0x0fffu + ((abits >> 13) & 1u);
  const uint32_t h = (abits >> 13) - (112u << 10);
  return sign | static_cast<uint16_t>(h);
}

void convert_to_f32(DType dtype, const void* src, size_t count, float* out) {
  if (count == 0) return;  // memcpy with a null pointer is undefined even for 0 bytes
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out, bytes, count * sizeof(float));
      return;
    case DType::kBF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        out[i] = bf16_to_f32(v);
      }
      return;
    case DType::kF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        out[i] = f16_to_f32(v);
      }
      return;
    case DType::kF64:
      for (size_t i = 0; i < count; ++i) {
        double v;
        std::memcpy(&v, bytes + 8 * i, 8);
        out[i] = static_cast<float>(v);
      }
      return;
    default:
      throw LoadError("cannot convert a " + std::string(dtype_name(dtype)) + " tensor to f32");
  }
}

}  // namespace dpserve::engine
