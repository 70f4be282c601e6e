#include "engine/model/deepseek.h"

#include "engine/model/batch_check.h"
#include "engine/model/deepseek_config.h"
#include "engine/model/deepseek_moe.h"
#include "engine/model/weights.h"
#include "engine/ops/backend.h"

#include <cstring>

namespace dpserve::engine {
namespace {

struct DecoderLayer {
  std::vector<float> attn_norm;
  std::vector<float> mlp_norm;
  std::unique_ptr<SwiGlu> dense;     // layers before first_k_dense_replace (and off-frequency)
  std::unique_ptr<DeepseekMoe> moe;  // the others
};

class DeepseekModel : public Model {
 public:
  DeepseekModel(const Checkpoint& ckpt, const LoadOptions& options, MlaMode mode)
      : cfg_(parse_deepseek_config(ckpt.config())),
        info_(deepseek_model_info(cfg_)),
        mode_(mode),
        backend_(make_cpu_backend({options.threads, options.compute_dtype, options.gemv})),
        mla_(ckpt, cfg_, *backend_) {
    const int64_t d = cfg_.hidden;
    embed_ = ckpt.load_f32("model.embed_tokens.weight", {cfg_.vocab, d});
    final_norm_ = ckpt.load_f32("model.norm.weight", {d});
    lm_head_ = load_linear(ckpt, "lm_head", cfg_.vocab, d, backend_->weight_dtype());
    backend_->prepare(lm_head_);
    for (int64_t l = 0; l < cfg_.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      DecoderLayer layer;
      layer.attn_norm = ckpt.load_f32(p + "input_layernorm.weight", {d});
      layer.mlp_norm = ckpt.load_f32(p + "post_attention_layernorm.weight", {d});
      if (cfg_.is_moe_layer(l)) {
        layer.moe = std::make_unique<DeepseekMoe>(ckpt, p + "mlp.", cfg_, *backend_);
      } else {
        layer.dense = std::make_unique<SwiGlu>(
            load_swiglu(ckpt, p + "mlp.", d, cfg_.intermediate, *backend_));
      }
      layers_.push_back(std::move(layer));
    }
  }

  const ModelInfo& info() const override { return info_; }

  void forward(const Batch& batch, KvStorage& kv, std::span<float> logits) override {
    const int64_t m = validate_batch(batch, info_, kv, logits);
    const int64_t d = cfg_.hidden;
    const float eps = static_cast<float>(cfg_.rms_eps);
    hidden_.resize(static_cast<size_t>(m * d));
    normed_.resize(static_cast<size_t>(m * d));
    proj_.resize(static_cast<size_t>(m * d));
    positions_.resize(static_cast<size_t>(m));

    int64_t row = 0;
    for (const SeqInput& seq : batch.seqs) {
      for (size_t j = 0; j < seq.tokens.size(); ++j, ++row) {
        std::memcpy(&hidden_[row * d], &embed_[static_cast<size_t>(seq.tokens[j]) * d],
                    d * sizeof(float));
        positions_[row] = seq.start_pos + static_cast<int64_t>(j);
      }
    }

    for (int64_t l = 0; l < cfg_.layers; ++l) {
      const DecoderLayer& layer = layers_[l];
      backend_->rms_norm(hidden_.data(), layer.attn_norm.data(), m, d, eps, normed_.data());
      mla_.forward(static_cast<int>(l), normed_.data(), m, positions_.data(), batch, kv, mode_,
                   proj_.data());
      backend_->add(hidden_.data(), proj_.data(), m * d);
      backend_->rms_norm(hidden_.data(), layer.mlp_norm.data(), m, d, eps, normed_.data());
      if (layer.moe) {
        layer.moe->forward(normed_.data(), m, proj_.data());
      } else {
        run_swiglu(*backend_, *layer.dense, normed_.data(), m, proj_.data(), mlp_scratch_);
      }
      backend_->add(hidden_.data(), proj_.data(), m * d);
    }

    // Only each sequence's last new token needs logits.
    const int64_t s_count = static_cast<int64_t>(batch.seqs.size());
    last_.resize(static_cast<size_t>(s_count * d));
    row = 0;
    for (int64_t s = 0; s < s_count; ++s) {
      row += static_cast<int64_t>(batch.seqs[s].tokens.size());
      std::memcpy(&last_[s * d], &hidden_[(row - 1) * d], d * sizeof(float));
    }
    backend_->rms_norm(last_.data(), final_norm_.data(), s_count, d, eps, last_.data());
    backend_->linear(last_.data(), s_count, lm_head_, logits.data());
  }

 private:
  DeepseekConfig cfg_;
  ModelInfo info_;
  MlaMode mode_;
  std::unique_ptr<Backend> backend_;
  MlaAttention mla_;
  std::vector<float> embed_;
  std::vector<float> final_norm_;
  LinearWeight lm_head_;
  std::vector<DecoderLayer> layers_;
  // Scratch reused across steps; a model is driven by one thread at a time.
  std::vector<float> hidden_, normed_, proj_, last_, mlp_scratch_;
  std::vector<int64_t> positions_;
};

}  // namespace

std::unique_ptr<Model> make_deepseek_model_with_mode(const Checkpoint& checkpoint,
                                                     const LoadOptions& options, MlaMode mode) {
  return std::make_unique<DeepseekModel>(checkpoint, options, mode);
}

std::unique_ptr<Model> make_deepseek_model(const Checkpoint& checkpoint,
                                           const LoadOptions& options) {
  return make_deepseek_model_with_mode(checkpoint, options, MlaMode::kAuto);
}

ModelInfo describe_deepseek_model(const HfConfig& config) {
  return deepseek_model_info(parse_deepseek_config(config));
}

}  // namespace dpserve::engine
