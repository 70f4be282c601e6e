#include "engine/model/batch_check.h"

#include <stdexcept>
#include <string>

namespace dpserve::engine {

int64_t validate_batch(const Batch& batch, const ModelInfo& info, const KvStorage& kv,
                       std::span<const float> logits) {
  auto fail = [](const std::string& why) { throw std::invalid_argument("forward: " + why); };
  if (kv.num_layers() != info.num_layers || kv.k_width() != info.kv_k_width ||
      kv.v_width() != info.kv_v_width) {
    fail("KV storage shape does not match the model");
  }
  if (logits.size() != batch.seqs.size() * static_cast<size_t>(info.vocab_size)) {
    fail("logits buffer must hold seqs.size() * vocab_size floats");
  }
  int64_t total = 0;
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SeqInput& seq = batch.seqs[s];
    const std::string where = "sequence " + std::to_string(s) + ": ";
    if (seq.tokens.empty()) fail(where + "no new tokens");
    if (seq.start_pos < 0) fail(where + "negative start_pos");
    const int64_t end = seq.start_pos + static_cast<int64_t>(seq.tokens.size());
    if (static_cast<int64_t>(seq.slots.size()) < end) fail(where + "fewer slots than positions");
    if (info.max_position_embeddings > 0 && end > info.max_position_embeddings) {
      fail(where + "position beyond max_position_embeddings");
    }
    for (int32_t t : seq.tokens) {
      if (t < 0 || t >= info.vocab_size)
        fail(where + "token id " + std::to_string(t) + " out of range");
    }
    for (int64_t p = 0; p < end; ++p) {
      if (seq.slots[p] < 0 || seq.slots[p] >= kv.num_slots()) {
        fail(where + "slot " + std::to_string(seq.slots[p]) + " out of range");
      }
    }
    total += static_cast<int64_t>(seq.tokens.size());
  }
  return total;
}

}  // namespace dpserve::engine
