#include "engine/tokenizer/utf8.h"

namespace dpserve::engine::utf8 {

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

namespace {

// Valid range of the second byte given the lead (Unicode Table 3-7); later bytes are 80..BF.
bool second_byte_ok(uint8_t lead, uint8_t b) {
  switch (lead) {
    case 0xE0:
      return b >= 0xA0 && b <= 0xBF;
    case 0xED:
      return b >= 0x80 && b <= 0x9F;
    case 0xF0:
      return b >= 0x90 && b <= 0xBF;
    case 0xF4:
      return b >= 0x80 && b <= 0x8F;
    default:
      return b >= 0x80 && b <= 0xBF;
  }
}

// How many bytes at pos form a valid-so-far prefix of a sequence (at most the announced length).
int valid_prefix(std::string_view text, size_t pos, int need) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  int got = 1;
  while (got < need && pos + got < text.size()) {
    const auto b = static_cast<uint8_t>(text[pos + got]);
    const bool ok = got == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++got;
  }
  return got;
}

}  // namespace

int decode(std::string_view text, size_t pos, uint32_t* code_point) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  const int need = sequence_length(lead);
  if (need == 0) return 0;
  if (need == 1) {
    *code_point = lead;
    return 1;
  }
  if (valid_prefix(text, pos, need) != need) return 0;
  uint32_t cp = lead & (0xFF >> (need + 1));
  for (int i = 1; i < need; ++i) cp = (cp << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
  *code_point = cp;
  return need;
}

bool is_valid(std::string_view text) {
  uint32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int len = decode(text, pos, &cp);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

size_t complete_prefix_length(std::string_view text) {
  // A held-back tail is at most 3 bytes; look only at the last few lead candidates.
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t pos = n - back;
    const auto b = static_cast<uint8_t>(text[pos]);
    if (b >= 0x80 && b <= 0xBF) continue;  // continuation byte: keep looking for its lead
    const int need = sequence_length(b);
    if (need <= 1) return n;  // ASCII or a byte that can never start a sequence
    if (static_cast<size_t>(need) <= back) return n;  // sequence (valid or not) is fully present
    // Incomplete: hold it back only if what is there could still become valid.
    return valid_prefix(text, pos, need) == static_cast<int>(back) ? pos : n;
  }
  return n;
}

std::string to_valid_lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  uint32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int len = decode(text, pos, &cp);
    if (len > 0) {
      out.append(text.substr(pos, len));
      pos += len;
      continue;
    }
    // Maximal subpart of an ill-formed sequence becomes one U+FFFD (Unicode "best practice").
    const int need = sequence_length(static_cast<uint8_t>(text[pos]));
    const int skip = need == 0 ? 1 : valid_prefix(text, pos, need);
    out.append("\xEF\xBF\xBD");
    pos += skip;
  }
  return out;
}

}  // namespace dpserve::engine::utf8
