// Writes a real byte-level BPE tokenizer in a model family's tokenizer.json layout (pre-tokenizer
// regex, special-token names, post-processor, chat template), with merges learned by BPE training
// on a small built-in corpus. Used by `dpserve model create` for seeded checkpoints, since no
// model hub is reachable. Deterministic: the same (family, vocab_size) gives identical bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {

struct TokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;
  // config.json's bos_token_id (Qwen2 has no BOS in its encodings but names <|endoftext|> here).
  int32_t bos_id = -1;
  // config.json / generation_config.json eos_token_id; the first is the chat turn terminator.
  std::vector<int32_t> eos_ids;
};

// family: "llama" (alias "llama3"), "qwen2", "deepseek_v2" or "deepseek_v3". vocab_size is the
// total number of ids (base bytes + learned merges + special tokens); when the corpus yields too
// few merges the rest is filled with reserved special tokens. Throws std::invalid_argument for an
// unknown family or a vocab_size outside [min_vocab_size(family), 1 << 20].
TokenizerFiles build_tokenizer(std::string_view family, int vocab_size);

// Smallest vocab_size the family's layout fits in (256 bytes + its fixed special tokens).
int min_vocab_size(std::string_view family);

}  // namespace dpserve::engine
