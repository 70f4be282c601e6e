// Architecture registry: config.json's architectures[0] -> factory. Each architecture's file
// provides the two functions; registry.cpp lists them in one table.
#pragma once

#include "engine/forward.h"
#include "engine/loader/checkpoint.h"
#include "engine/model/load_model.h"

#include <memory>
#include <string>
#include <vector>

namespace dpserve::engine {

struct Architecture {
  const char* name;  // HF class name, e.g. "LlamaForCausalLM"
  std::unique_ptr<Model> (*make)(const Checkpoint& checkpoint, const LoadOptions& options);
  ModelInfo (*describe)(const HfConfig& config);
};

// nullptr when the name is not registered.
const Architecture* find_architecture(const std::string& name);
std::vector<std::string> architecture_names();

// Llama family (model/llama.cpp): LlamaForCausalLM and Qwen2ForCausalLM.
std::unique_ptr<Model> make_llama_model(const Checkpoint& checkpoint, const LoadOptions& options);
ModelInfo describe_llama_model(const HfConfig& config);

}  // namespace dpserve::engine
