// The contract between the serving layer (KV pool, radix cache, scheduler) and a model backend.
// The serving layer owns KV memory and decides which token slots a sequence uses; the model reads
// and writes those slots during a forward pass. Paging is the allocator's business: a page is a run
// of page_size consecutive slots, and the model never needs to know.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

// What the serving layer needs to know about a loaded model.
struct ModelInfo {
  std::string architecture;           // e.g. "LlamaForCausalLM"
  int num_layers = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  // Floats per token per layer in the KV cache. GQA: k_width = v_width = n_kv_heads * head_dim.
  // MLA: k_width = kv_lora_rank + qk_rope_head_dim (the latent row), v_width = 0.
  int kv_k_width = 0;
  int kv_v_width = 0;
  std::vector<int32_t> eos_token_ids;
  int64_t kv_bytes_per_token() const {
    return int64_t{num_layers} * (kv_k_width + kv_v_width) * int64_t{sizeof(float)};
  }
};

// KV memory of one rank: per layer, num_slots token slots of k_width (+ v_width) floats.
class KvStorage {
 public:
  KvStorage(int num_layers, int64_t num_slots, int k_width, int v_width)
      : num_layers_(num_layers),
        num_slots_(num_slots),
        k_width_(k_width),
        v_width_(v_width),
        k_(static_cast<size_t>(num_layers) * num_slots * k_width),
        v_(static_cast<size_t>(num_layers) * num_slots * v_width) {}

  int num_layers() const { return num_layers_; }
  int64_t num_slots() const { return num_slots_; }
  int k_width() const { return k_width_; }
  int v_width() const { return v_width_; }
  float* k(int layer, int64_t slot) {
    return k_.data() + (static_cast<size_t>(layer) * num_slots_ + slot) * k_width_;
  }
  float* v(int layer, int64_t slot) {
    return v_.data() + (static_cast<size_t>(layer) * num_slots_ + slot) * v_width_;
  }
  const float* k(int layer, int64_t slot) const {
    return k_.data() + (static_cast<size_t>(layer) * num_slots_ + slot) * k_width_;
  }
  const float* v(int layer, int64_t slot) const {
    return v_.data() + (static_cast<size_t>(layer) * num_slots_ + slot) * v_width_;
  }

 private:
  int num_layers_;
  int64_t num_slots_;
  int k_width_;
  int v_width_;
  std::vector<float> k_;
  std::vector<float> v_;
};

// One sequence's share of a forward pass.
struct SeqInput {
  std::span<const int32_t> tokens;  // new tokens this step: a prefill chunk, or one decode token
  int64_t start_pos = 0;            // position of tokens[0]; earlier positions are already cached
  std::span<const int64_t> slots;   // KV slot of every position [0, start_pos + tokens.size())
};

struct Batch {
  std::vector<SeqInput> seqs;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;
  // Writes the K/V rows of every new token into its slot, attends over all of the sequence's
  // slots, and writes one row of vocab_size logits per sequence (for its last new token) into
  // `logits` (size seqs.size() * vocab_size). Sequences in a batch are independent.
  virtual void forward(const Batch& batch, KvStorage& kv, std::span<float> logits) = 0;
};

}  // namespace dpserve::engine
