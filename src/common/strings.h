// String building without GCC 12's false -Wrestrict on `"literal" + std::string(...)`.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace dpserve::common {

inline std::string cat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (auto part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (auto part : parts) out.append(part);
  return out;
}

}  // namespace dpserve::common
