// tokenizer.json "normalizer": null, or NFC (Qwen2), alone or inside a Sequence.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace dpserve::engine {

class Normalizer {
 public:
  // Throws std::invalid_argument for a type other than NFC / Sequence of NFC.
  static std::unique_ptr<Normalizer> from_json(const nlohmann::json& config);
  bool active() const { return nfc_; }
  // Returns the normalised text; input that is not valid UTF-8 is returned unchanged.
  std::string apply(std::string_view text) const;

 private:
  bool nfc_ = false;
};

// Unicode canonical composition (NFC) of valid UTF-8 text.
std::string to_nfc(std::string_view text);

}  // namespace dpserve::engine
