#include "engine/tokenizer/normalizer.h"

#include "engine/tokenizer/utf8.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace dpserve::engine {
namespace {

void parse(const nlohmann::json& config, bool* nfc, int depth) {
  if (depth > 8) throw std::invalid_argument("normalizer: nested too deeply");
  if (config.is_null()) return;
  const std::string type =
      config.is_object() && config.contains("type") && config["type"].is_string()
          ? config["type"].get<std::string>()
          : "";
  if (type == "NFC") {
    *nfc = true;
    return;
  }
  if (type == "Sequence" && config.contains("normalizers") && config["normalizers"].is_array()) {
    for (const auto& sub : config["normalizers"]) parse(sub, nfc, depth + 1);
    return;
  }
  throw std::invalid_argument("normalizer: unsupported " + config.dump().substr(0, 80) +
                              " (supported: null, NFC, Sequence of NFC)");
}

}  // namespace

std::unique_ptr<Normalizer> Normalizer::from_json(const nlohmann::json& config) {
  auto result = std::make_unique<Normalizer>();
  parse(config, &result->nfc_, 0);
  return result;
}

std::string Normalizer::apply(std::string_view text) const {
  if (!nfc_ || !utf8::is_valid(text)) return std::string(text);
  return to_nfc(text);
}

}  // namespace dpserve::engine
