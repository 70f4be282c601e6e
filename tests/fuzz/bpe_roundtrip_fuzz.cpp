// BPE encode/decode round trip over arbitrary bytes for every generated family: decode(encode(x))
// must give x back exactly (after NFC for Qwen2), and streamed output must be valid UTF-8 that
// equals the lossy conversion of the same bytes.
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_builder.h"
#include "engine/tokenizer/utf8.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace {

using dpserve::engine::Tokenizer;

const Tokenizer& tokenizer(int family) {
  static const char* kFamilies[] = {"llama", "qwen2", "deepseek_v2", "deepseek_v3"};
  static std::unique_ptr<Tokenizer> cache[4];
  if (!cache[family]) {
    const auto files = dpserve::engine::build_tokenizer(kFamilies[family], 700);
    cache[family] = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
  }
  return *cache[family];
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bpe_roundtrip: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int family = data[0] % 4;
  // Qwen2 normalises each text segment between added tokens separately (as HF does), so the
  // whole-text NFC expectation below only holds without special-token parsing.
  const bool parse_special = (data[0] & 4) != 0 && family != 1;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Tokenizer& tok = tokenizer(family);
  const auto ids = tok.encode(text, false, parse_special);
  for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), "id out of range");
  const std::string expected =
      family == 1 && dpserve::engine::utf8::is_valid(text) ? dpserve::engine::to_nfc(text) : text;
  check(tok.decode(ids, false) == expected, "decode(encode(x)) != x");
  auto stream = tok.stream_decoder(false);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    check(dpserve::engine::utf8::is_valid(chunk), "stream emitted invalid UTF-8");
    streamed += chunk;
  }
  streamed += stream.flush();
  check(streamed == dpserve::engine::utf8::to_valid_lossy(expected), "stream != lossy(decode)");
  return 0;
}
