// Random op sequences (match, grow, cache, release, evict, flush) on the engine's page pool + radix
// prefix cache, checked against a naive model after every op (tests/engine/serving/kv_harness.h).
// The first byte picks the page size and the second the pool size, so small pools exercise
// eviction under pressure.
#include "../engine/serving/kv_harness.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int page_size = 1 + data[0] % 4;
  const int64_t pages = 2 + data[1] % 48;
  const bool radix = data[0] % 16 != 15;
  dpserve::engine::testing::KvHarness harness(page_size, pages, radix);
  const std::string error = harness.run(std::span<const uint8_t>(data + 2, size - 2));
  if (!error.empty()) {
    std::fprintf(stderr, "radix_cache invariant violated: %s\n", error.c_str());
    std::abort();
  }
  return 0;
}
