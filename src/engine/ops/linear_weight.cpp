#include "engine/ops/linear_weight.h"

#include <stdexcept>

namespace dpserve::engine {

LinearWeight concat_rows(const std::vector<const LinearWeight*>& parts) {
  if (parts.empty()) throw std::invalid_argument("concat_rows: no parts");
  LinearWeight w;
  w.in = parts[0]->in;
  w.dtype = parts[0]->dtype;
  bool any_bias = false;
  for (const auto* p : parts) {
    if (p->in != w.in || p->dtype != w.dtype) {
      throw std::invalid_argument("concat_rows: parts differ in width or dtype");
    }
    w.out += p->out;
    any_bias = any_bias || !p->bias.empty();
  }
  for (const auto* p : parts) {
    w.f32.insert(w.f32.end(), p->f32.begin(), p->f32.end());
    w.bf16.insert(w.bf16.end(), p->bf16.begin(), p->bf16.end());
    if (any_bias) {
      if (p->bias.empty()) {
        w.bias.insert(w.bias.end(), static_cast<size_t>(p->out), 0.0f);
      } else {
        w.bias.insert(w.bias.end(), p->bias.begin(), p->bias.end());
      }
    }
  }
  return w;
}

}  // namespace dpserve::engine
