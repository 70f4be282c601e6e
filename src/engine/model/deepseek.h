// DeepseekV2ForCausalLM and DeepseekV3ForCausalLM: pre-norm decoder with MLA attention
// (model/deepseek_mla.h) and, from layer first_k_dense_replace on, DeepSeekMoE
// (model/deepseek_moe.h) instead of a dense SwiGLU MLP.
#pragma once

#include "engine/forward.h"
#include "engine/loader/checkpoint.h"
#include "engine/model/deepseek_mla.h"
#include "engine/model/load_model.h"

#include <memory>

namespace dpserve::engine {

// The registry's factory (kAuto: absorbed MLA for decode, expanded for long prefill chunks).
std::unique_ptr<Model> make_deepseek_model(const Checkpoint& checkpoint,
                                           const LoadOptions& options);
ModelInfo describe_deepseek_model(const HfConfig& config);

// The same model with one MLA path forced, so tests can check the two paths against each other.
std::unique_ptr<Model> make_deepseek_model_with_mode(const Checkpoint& checkpoint,
                                                     const LoadOptions& options, MlaMode mode);

}  // namespace dpserve::engine
