// A compiled PCRE2 pattern with UTF + UCP semantics (\p{L}, \p{N}, possessive quantifiers and
// look-ahead, as HF pre-tokenizer patterns need) and JIT. Subjects may hold invalid UTF-8: such
// bytes never match a character class and end up in the gaps between matches.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dpserve::engine {

class Regex {
 public:
  // Throws std::invalid_argument naming the position of a syntax error. literal=true matches the
  // pattern text verbatim (HF's {"String": ...} split patterns).
  explicit Regex(std::string_view pattern, bool literal = false);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends every non-empty, non-overlapping match of subject as [begin, end) byte offsets.
  // Thread-safe: match state is per thread.
  void find_all(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::unique_ptr<Code> code_;
};

}  // namespace dpserve::engine
