// A Hugging Face tokenizer.json byte-level BPE tokenizer (Llama 3, Qwen2, GPT-2, DeepSeek layouts)
// plus the bits of tokenizer_config.json / generation_config.json serving needs (BOS/EOS, the chat
// template source). Loading throws TokenizerError naming the file and field; encoding and decoding
// never throw on any input and are safe to call from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {

class AddedTokenMatcher;
class BpeModel;
class Normalizer;
class PreTokenizer;
class StreamDecoder;

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and DIR/tokenizer_config.json (and DIR/generation_config.json when
  // present, for its eos_token_id list).
  static std::unique_ptr<Tokenizer> load(const std::string& model_dir);
  // Same from file contents; generation_config_json may be empty. `origin` prefixes messages.
  static std::unique_ptr<Tokenizer> from_json(std::string_view tokenizer_json,
                                              std::string_view tokenizer_config_json,
                                              std::string_view generation_config_json = {},
                                              const std::string& origin = "");
  ~Tokenizer();

  // add_special_tokens applies the post-processor (e.g. Llama 3's BOS). parse_special decides
  // whether special-token text inside `text` becomes the special token (templates need it) or is
  // tokenised as plain text (safer for raw user content).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens,
                              bool parse_special = true) const;
  // Raw bytes: a token may end inside a UTF-8 sequence, and arbitrary input bytes round-trip.
  // Unknown ids are skipped.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;
  // Raw bytes of one token (empty for an unknown id).
  std::string token_to_piece(int32_t id) const;
  // Vocabulary spelling of an id (byte alphabet for BPE tokens, content for added tokens).
  std::optional<std::string> id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;

  int32_t vocab_size() const { return vocab_size_; }
  int32_t bos_id() const { return bos_id_; }  // -1 when the model has none
  const std::vector<int32_t>& eos_ids() const { return eos_ids_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  bool is_special(int32_t id) const;
  std::optional<int32_t> special_token_id(std::string_view content) const;
  // tokenizer_config.json's chat_template (the default one when it is a named list), or "".
  const std::string& chat_template_source() const { return chat_template_source_; }
  size_t merge_count() const;

  StreamDecoder stream_decoder(bool skip_special_tokens) const;

 private:
  Tokenizer();
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<AddedTokenMatcher> added_;
  std::vector<int32_t> prefix_ids_, suffix_ids_;  // post-processor template around $A
  std::vector<std::string> added_content_;        // id -> added token content ("" if none)
  std::vector<bool> special_;                     // id -> special added token
  int32_t vocab_size_ = 0;
  int32_t bos_id_ = -1;
  std::vector<int32_t> eos_ids_;
  std::string bos_token_, eos_token_, chat_template_source_;
};

// Incremental detokenisation for streaming: push ids, get text that is always valid UTF-8. Bytes
// of an incomplete code point are held back until the token completing it arrives; invalid bytes
// become U+FFFD. flush() returns what is left at the end of the stream.
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
      : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}
  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace dpserve::engine
