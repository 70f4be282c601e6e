// Short random identifiers (request ids, worker ids) from a per-thread generator: no locks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dpserve::common {

// `prefix` followed by `length` random characters from [A-Za-z0-9].
std::string random_alnum(std::string_view prefix, size_t length);
// The same written into `out` without allocating (cut to `capacity` characters); returns the view
// of what was written.
std::string_view random_alnum_into(char* out, size_t capacity, std::string_view prefix,
                                   size_t length);

template <size_t N>
std::string_view random_alnum_into(char (&out)[N], std::string_view prefix, size_t length) {
  return random_alnum_into(out, N, prefix, length);
}

// A fast per-thread 64-bit random number (seeded from std::random_device once per thread).
uint64_t thread_random();

}  // namespace dpserve::common
