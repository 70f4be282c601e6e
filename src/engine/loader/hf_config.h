// Typed access to a HF `config.json`. Missing required fields and wrong types are LoadErrors that
// name the field; optional fields fall back to the defaults HF's config classes use.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

class HfConfig {
 public:
  explicit HfConfig(nlohmann::json doc);
  static HfConfig from_file(const std::string& path);  // throws LoadError

  const nlohmann::json& json() const { return doc_; }
  // architectures[0], e.g. "LlamaForCausalLM".
  std::string architecture() const;

  bool has(const std::string& key) const;  // present and not null
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // eos_token_id may be an int or a list of ints.
  std::vector<int32_t> get_int_list(const std::string& key) const;

 private:
  nlohmann::json doc_;
};

// `rope_scaling` as HF writes it ("rope_type" or the older "type").
struct RopeScalingConfig {
  std::string type = "default";  // default | linear | llama3 | yarn
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;
  // yarn (DeepSeek's formulation)
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

// Parses config["rope_scaling"]; throws LoadError for an unsupported type.
RopeScalingConfig parse_rope_scaling(const HfConfig& config);

}  // namespace dpserve::engine
