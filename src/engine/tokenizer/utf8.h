// UTF-8 helpers shared by the tokenizer: code point encoding and the "how much of this buffer is
// complete" question that streaming detokenisation asks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dpserve::engine::utf8 {

// Appends the UTF-8 encoding of a code point (no validation of surrogates).
void append(std::string& out, uint32_t code_point);

// Length of the sequence a lead byte announces (1..4), or 0 for a byte that cannot start one.
int sequence_length(uint8_t lead);

// Decodes one well-formed code point at text[pos]; returns its length, or 0 when the bytes there
// are not a valid (shortest-form, non-surrogate) sequence or are cut off by the end of the text.
int decode(std::string_view text, size_t pos, uint32_t* code_point);

// True when text is entirely valid UTF-8.
bool is_valid(std::string_view text);

// Length of the longest prefix that ends on a boundary where no further byte could complete a
// sequence. Invalid bytes count as complete (they are emitted as U+FFFD); only a valid-so-far
// truncated sequence at the very end is held back.
size_t complete_prefix_length(std::string_view text);

// Copies text, replacing each maximal invalid subsequence with U+FFFD (like from_utf8_lossy).
std::string to_valid_lossy(std::string_view text);

}  // namespace dpserve::engine::utf8
