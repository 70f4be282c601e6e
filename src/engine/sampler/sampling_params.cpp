#include "engine/sampler/sampling_params.h"

#include <cmath>

namespace dpserve::engine {

std::string SamplingParams::validate() const {
  if (!std::isfinite(temperature) || temperature < 0) return "temperature must be >= 0";
  if (top_k == 0 || top_k < -1) return "top_k must be -1 (disabled) or >= 1";
  if (!(top_p > 0 && top_p <= 1)) return "top_p must be in (0, 1]";
  if (!(min_p >= 0 && min_p <= 1)) return "min_p must be in [0, 1]";
  if (!(frequency_penalty >= -2 && frequency_penalty <= 2)) {
    return "frequency_penalty must be in [-2, 2]";
  }
  if (!(presence_penalty >= -2 && presence_penalty <= 2)) {
    return "presence_penalty must be in [-2, 2]";
  }
  if (!(repetition_penalty > 0 && repetition_penalty <= 2)) {
    return "repetition_penalty must be in (0, 2]";
  }
  if (top_logprobs_num < 0) return "top_logprobs_num must be >= 0";
  return {};
}

}  // namespace dpserve::engine
