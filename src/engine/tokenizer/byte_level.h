// GPT-2's byte-to-unicode table: byte-level BPE vocabularies are written in an alphabet where every
// byte is a printable code point (bytes 33-126, 161-172, 174-255 map to themselves, the other 68 to
// U+0100 upwards), so "Ġ" is a space and "Ċ" a newline.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace dpserve::engine::byte_level {

// UTF-8 spelling of the code point that stands for each byte.
const std::array<std::string, 256>& byte_to_unicode();

// The bytes in GPT-2's alphabet order (the order base vocabularies list them in).
const std::array<uint8_t, 256>& alphabet_order();

// Maps every byte of raw text to its alphabet character.
std::string encode(std::string_view raw);

// Inverse of encode. Characters outside the alphabet are kept as their own UTF-8 bytes, as HF's
// ByteLevel decoder does.
std::string decode(std::string_view mapped);

}  // namespace dpserve::engine::byte_level
