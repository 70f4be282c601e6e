// Added tokens (special or not) are cut out of the text before pre-tokenisation: leftmost match,
// longest at that position, honouring lstrip / rstrip / single_word. A byte trie keeps the scan
// linear even with tens of thousands of reserved tokens sharing a prefix.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dpserve::engine {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class AddedTokenMatcher {
 public:
  struct Segment {
    std::string_view text;  // plain text to pre-tokenize (when token_id < 0)
    int32_t token_id = -1;
  };

  void add(const AddedToken& token);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  // The token whose content is exactly `content`, or nullptr.
  const AddedToken* find(std::string_view content) const;

  // Splits text into plain segments and added tokens. Special tokens are recognised only when
  // parse_special is set; non-special added tokens always are.
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

 private:
  // Longest allowed token starting at pos: index into tokens_ and its length, or -1.
  int match_at(std::string_view text, size_t pos, bool parse_special, size_t* length) const;
  int32_t child(int32_t node, uint8_t byte) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child node
  std::vector<int32_t> terminal_;                // node -> token index, or -1
  std::array<bool, 256> first_byte_{};
};

}  // namespace dpserve::engine
