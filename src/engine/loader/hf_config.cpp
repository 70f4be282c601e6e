#include "engine/loader/hf_config.h"

#include "engine/loader/load_error.h"

#include <fstream>
#include <sstream>

namespace dpserve::engine {

HfConfig::HfConfig(nlohmann::json doc) : doc_(std::move(doc)) {
  if (!doc_.is_object()) throw LoadError("config.json: top level is not an object");
}

HfConfig HfConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw LoadError("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw LoadError(path + ": not valid JSON");
  try {
    return HfConfig(std::move(doc));
  } catch (const LoadError& e) {
    throw LoadError(path + ": " + e.what());
  }
}

std::string HfConfig::architecture() const {
  auto it = doc_.find("architectures");
  if (it == doc_.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) {
    throw LoadError("config.json: 'architectures' must be a non-empty list of names");
  }
  return (*it)[0].get<std::string>();
}

bool HfConfig::has(const std::string& key) const {
  auto it = doc_.find(key);
  return it != doc_.end() && !it->is_null();
}

int64_t HfConfig::get_int(const std::string& key) const {
  auto it = doc_.find(key);
  if (it == doc_.end() || it->is_null()) throw LoadError("config.json: missing '" + key + "'");
  if (!it->is_number_integer()) throw LoadError("config.json: '" + key + "' is not an integer");
  return it->get<int64_t>();
}

int64_t HfConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double HfConfig::get_double(const std::string& key) const {
  auto it = doc_.find(key);
  if (it == doc_.end() || it->is_null()) throw LoadError("config.json: missing '" + key + "'");
  if (!it->is_number()) throw LoadError("config.json: '" + key + "' is not a number");
  return it->get<double>();
}

double HfConfig::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool HfConfig::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = doc_.at(key);
  if (!v.is_boolean()) throw LoadError("config.json: '" + key + "' is not a boolean");
  return v.get<bool>();
}

std::string HfConfig::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = doc_.at(key);
  if (!v.is_string()) throw LoadError("config.json: '" + key + "' is not a string");
  return v.get<std::string>();
}

std::vector<int32_t> HfConfig::get_int_list(const std::string& key) const {
  std::vector<int32_t> out;
  if (!has(key)) return out;
  const auto& v = doc_.at(key);
  if (v.is_number_integer()) {
    out.push_back(v.get<int32_t>());
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_number_integer()) throw LoadError("config.json: '" + key + "' has a non-integer");
      out.push_back(e.get<int32_t>());
    }
  } else {
    throw LoadError("config.json: '" + key + "' must be an integer or a list of integers");
  }
  return out;
}

RopeScalingConfig parse_rope_scaling(const HfConfig& config) {
  RopeScalingConfig rs;
  rs.original_max_position_embeddings = config.get_int("max_position_embeddings", 0);
  if (!config.has("rope_scaling")) return rs;
  const auto& j = config.json().at("rope_scaling");
  if (!j.is_object()) throw LoadError("config.json: 'rope_scaling' is not an object");
  HfConfig sub(j);
  rs.type = sub.get_string("rope_type", sub.get_string("type", "default"));
  rs.factor = sub.get_double("factor", 1.0);
  rs.low_freq_factor = sub.get_double("low_freq_factor", rs.low_freq_factor);
  rs.high_freq_factor = sub.get_double("high_freq_factor", rs.high_freq_factor);
  rs.original_max_position_embeddings =
      sub.get_int("original_max_position_embeddings", rs.original_max_position_embeddings);
  rs.beta_fast = sub.get_double("beta_fast", rs.beta_fast);
  rs.beta_slow = sub.get_double("beta_slow", rs.beta_slow);
  rs.mscale = sub.get_double("mscale", rs.mscale);
  rs.mscale_all_dim = sub.get_double("mscale_all_dim", rs.mscale_all_dim);
  if (rs.type != "default" && rs.type != "linear" && rs.type != "llama3" && rs.type != "yarn") {
    throw LoadError("config.json: unsupported rope_scaling type '" + rs.type + "'");
  }
  if (rs.type == "llama3" && rs.original_max_position_embeddings <= 0) {
    throw LoadError("config.json: llama3 rope_scaling needs original_max_position_embeddings");
  }
  return rs;
}

}  // namespace dpserve::engine
