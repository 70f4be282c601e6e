// A deterministic stand-in for a transformer: each forward writes (token, position) into the KV
// slot of every new position, then derives the logits from a hash of the whole sequence *read back
// from its KV slots*. A wrong slot, a stale page or a bad prefix reuse changes the output (or is
// counted in bad_reads), which is exactly what the scheduler tests need to catch.
#pragma once

#include "engine/forward.h"

#include <atomic>
#include <cstdint>
#include <span>

namespace dpserve::engine::testing {

class FakeModel : public Model {
 public:
  explicit FakeModel(int vocab = 64, std::vector<int32_t> eos = {}, int context = 4096) {
    info_.architecture = "FakeForCausalLM";
    info_.num_layers = 2;
    info_.vocab_size = vocab;
    info_.max_position_embeddings = context;
    info_.kv_k_width = 2;
    info_.kv_v_width = 1;
    info_.eos_token_ids = std::move(eos);
  }
  const ModelInfo& info() const override { return info_; }

  void forward(const Batch& batch, KvStorage& kv, std::span<float> logits) override {
    ++forward_calls;
    for (size_t s = 0; s < batch.seqs.size(); ++s) {
      const SeqInput& in = batch.seqs[s];
      const int64_t end = in.start_pos + static_cast<int64_t>(in.tokens.size());
      if (static_cast<int64_t>(in.slots.size()) < end) {
        ++bad_reads;
        continue;
      }
      for (size_t i = 0; i < in.tokens.size(); ++i) {
        const int64_t pos = in.start_pos + static_cast<int64_t>(i);
        for (int layer = 0; layer < info_.num_layers; ++layer) {
          float* k = kv.k(layer, in.slots[static_cast<size_t>(pos)]);
          k[0] = static_cast<float>(in.tokens[i]);
          k[1] = static_cast<float>(pos);
          kv.v(layer, in.slots[static_cast<size_t>(pos)])[0] = static_cast<float>(layer);
        }
      }
      uint64_t h = 0x9e3779b97f4a7c15ULL;
      for (int64_t pos = 0; pos < end; ++pos) {
        const int64_t slot = in.slots[static_cast<size_t>(pos)];
        for (int layer = 0; layer < info_.num_layers; ++layer) {
          const float* k = kv.k(layer, slot);
          if (k[1] != static_cast<float>(pos) ||
              kv.v(layer, slot)[0] != static_cast<float>(layer) || k[0] != kv.k(0, slot)[0]) {
            ++bad_reads;
          }
        }
        h = mix(h ^ static_cast<uint64_t>(kv.k(0, slot)[0]) ^ (static_cast<uint64_t>(pos) << 32));
      }
      float* row = logits.data() + s * static_cast<size_t>(info_.vocab_size);
      for (int v = 0; v < info_.vocab_size; ++v) {
        row[v] = static_cast<float>(mix(h + static_cast<uint64_t>(v)) % 10000) / 1000.0f - 5.0f;
      }
    }
  }

  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::atomic<int64_t> forward_calls{0};
  std::atomic<int64_t> bad_reads{0};

 private:
  ModelInfo info_;
};

}  // namespace dpserve::engine::testing
