#include "engine/tokenizer/byte_level.h"

#include "engine/tokenizer/utf8.h"

namespace dpserve::engine::byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> code_point{};
  std::array<std::string, 256> spelling;
  std::array<uint8_t, 256> order{};
  std::array<int16_t, 324> byte_of{};  // code point (< 324) -> byte, or -1

  Tables() {
    byte_of.fill(-1);
    int next = 0;
    auto keep = [&](int lo, int hi) {
      for (int b = lo; b <= hi; ++b) {
        code_point[b] = static_cast<uint32_t>(b);
        order[next++] = static_cast<uint8_t>(b);
      }
    };
    keep(33, 126);
    keep(161, 172);
    keep(174, 255);
    uint32_t extra = 256;
    for (int b = 0; b < 256; ++b) {
      const bool kept = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      if (kept) continue;
      code_point[b] = extra++;
      order[next++] = static_cast<uint8_t>(b);
    }
    for (int b = 0; b < 256; ++b) {
      utf8::append(spelling[b], code_point[b]);
      byte_of[code_point[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return tables().spelling; }

const std::array<uint8_t, 256>& alphabet_order() { return tables().order; }

std::string encode(std::string_view raw) {
  const auto& t = tables();
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) out.append(t.spelling[static_cast<uint8_t>(c)]);
  return out;
}

std::string decode(std::string_view mapped) {
  const auto& t = tables();
  std::string out;
  out.reserve(mapped.size());
  uint32_t cp = 0;
  for (size_t pos = 0; pos < mapped.size();) {
    const int len = utf8::decode(mapped, pos, &cp);
    if (len == 0) {  // not UTF-8 at all: pass the byte through
      out.push_back(mapped[pos++]);
      continue;
    }
    if (cp < t.byte_of.size() && t.byte_of[cp] >= 0) {
      out.push_back(static_cast<char>(t.byte_of[cp]));
    } else {
      out.append(mapped.substr(pos, len));
    }
    pos += len;
  }
  return out;
}

}  // namespace dpserve::engine::byte_level
