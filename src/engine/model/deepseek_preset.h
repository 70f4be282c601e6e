// `dpserve model create --arch deepseek_v2|deepseek_v3` presets: config.json as HF's DeepSeek
// configs write it and the tensor list of a DeepSeek checkpoint, named as HF names them.
#pragma once

#include "engine/model/presets.h"

#include <string>

namespace dpserve::engine {

// arch: deepseek_v2 (direct q_proj, softmax routing, group-limited greedy) or deepseek_v3
// (q_lora_rank, sigmoid routing, noaux_tc with e_score_correction_bias). preset: tiny | small |
// medium. Throws std::invalid_argument for anything else.
PresetSpec deepseek_preset(const std::string& arch, const std::string& preset);

}  // namespace dpserve::engine
