// The text the tokenizer builder learns its merges from: a few KB of English prose, code, JSON,
// numbers and non-ASCII scripts, so generated tokenizers merge common words and still exercise
// multi-byte characters.
#pragma once

#include <string_view>

namespace dpserve::engine {

std::string_view training_corpus();

}  // namespace dpserve::engine
