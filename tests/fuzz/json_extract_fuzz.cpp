// Fuzzes routing-field extraction (simdjson On-Demand over untrusted bodies) for every API kind,
// and the DP-rank splice on bodies the extractor accepted.
#include "router/extract.h"
#include "router/splice.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dpserve::router;
  for (auto kind :
       {ApiKind::kGenerate, ApiKind::kCompletions, ApiKind::kChat, ApiKind::kEmbeddings}) {
    std::string body(reinterpret_cast<const char*>(data), size);
    Extracted out;
    std::string error;
    if (Extractor::local().extract(kind, body, out, error)) {
      // Views must point at readable memory of the stated size.
      volatile char sink = 0;
      for (char c : out.route.text) sink = static_cast<char>(sink ^ c);
      for (int32_t id : out.route.token_ids) sink = static_cast<char>(sink ^ id);
      Splice splice;
      if (splice_dp_rank(body, 1, splice) &&
          splice.size() != body.size() + splice.insertion.size()) {
        __builtin_trap();
      }
    } else if (error.empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
