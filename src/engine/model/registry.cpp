#include "engine/model/registry.h"

#include "engine/loader/load_error.h"
#include "engine/model/deepseek.h"

#include <string_view>

namespace dpserve::engine {
namespace {

// One line per architecture.
constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", &make_llama_model, &describe_llama_model},
    {"Qwen2ForCausalLM", &make_llama_model, &describe_llama_model},
    {"DeepseekV2ForCausalLM", &make_deepseek_model, &describe_deepseek_model},
    {"DeepseekV3ForCausalLM", &make_deepseek_model, &describe_deepseek_model},
};

}  // namespace

const Architecture* find_architecture(const std::string& name) {
  for (const auto& arch : kArchitectures) {
    if (name == arch.name) return &arch;
  }
  return nullptr;
}

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& arch : kArchitectures) names.emplace_back(arch.name);
  return names;
}

namespace {

const Architecture& require_architecture(const HfConfig& config, const std::string& dir) {
  const std::string name = config.architecture();
  const Architecture* arch = find_architecture(name);
  if (arch == nullptr) {
    std::string known;
    for (const auto& n : architecture_names()) known += (known.empty() ? "" : ", ") + n;
    throw LoadError(dir + ": unsupported architecture '" + name + "' (supported: " + known + ")");
  }
  return *arch;
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& dir, const LoadOptions& options) {
  Checkpoint checkpoint(dir);
  const Architecture& arch = require_architecture(checkpoint.config(), dir);
  return arch.make(checkpoint, options);
}

ModelInfo describe_model(const std::string& dir) {
  HfConfig config = HfConfig::from_file(dir + "/config.json");
  const Architecture& arch = require_architecture(config, dir);
  return arch.describe(config);
}

}  // namespace dpserve::engine
