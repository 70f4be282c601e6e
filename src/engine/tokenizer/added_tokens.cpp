#include "engine/tokenizer/added_tokens.h"

namespace dpserve::engine {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Word characters for single_word: ASCII alphanumerics, '_' and any non-ASCII byte (letters of
// other scripts; a conservative reading that never splits inside a word).
bool is_word_byte(char c) {
  const auto b = static_cast<uint8_t>(c);
  return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' ||
         b >= 0x80;
}

}  // namespace

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  const auto it = edges_.find((static_cast<uint64_t>(node) << 8) | byte);
  return it == edges_.end() ? -1 : it->second;
}

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  if (terminal_.empty()) terminal_.push_back(-1);  // root
  int32_t node = 0;
  for (char c : token.content) {
    const auto byte = static_cast<uint8_t>(c);
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | byte;
    auto it = edges_.find(key);
    if (it == edges_.end()) {
      it = edges_.emplace(key, static_cast<int32_t>(terminal_.size())).first;
      terminal_.push_back(-1);
    }
    node = it->second;
  }
  first_byte_[static_cast<uint8_t>(token.content[0])] = true;
  if (terminal_[node] < 0) {
    terminal_[node] = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
}

const AddedToken* AddedTokenMatcher::find(std::string_view content) const {
  if (terminal_.empty() || content.empty()) return nullptr;
  int32_t node = 0;
  for (char c : content) {
    node = child(node, static_cast<uint8_t>(c));
    if (node < 0) return nullptr;
  }
  return terminal_[node] < 0 ? nullptr : &tokens_[terminal_[node]];
}

int AddedTokenMatcher::match_at(std::string_view text, size_t pos, bool parse_special,
                                size_t* length) const {
  int best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    const int32_t index = terminal_[node];
    if (index < 0) continue;
    const AddedToken& token = tokens_[index];
    if (token.special && !parse_special) continue;
    if (token.single_word) {
      const bool before = pos > 0 && is_word_byte(text[pos - 1]);
      const bool after = i + 1 < text.size() && is_word_byte(text[i + 1]);
      if (before || after) continue;
    }
    best = index;
    *length = i + 1 - pos;
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<Segment>& out) const {
  out.clear();
  size_t plain_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    const int index = first_byte_[static_cast<uint8_t>(text[pos])]
                          ? match_at(text, pos, parse_special, &length)
                          : -1;
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t plain_end = pos;
    if (token.lstrip) {
      while (plain_end > plain_begin && is_space(text[plain_end - 1])) --plain_end;
    }
    size_t after = pos + length;
    if (token.rstrip) {
      while (after < text.size() && is_space(text[after])) ++after;
    }
    if (plain_end > plain_begin) {
      out.push_back({text.substr(plain_begin, plain_end - plain_begin), -1});
    }
    out.push_back({{}, token.id});
    pos = plain_begin = after;
  }
  if (plain_begin < text.size()) out.push_back({text.substr(plain_begin), -1});
}

}  // namespace dpserve::engine
