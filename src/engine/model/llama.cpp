// LlamaForCausalLM and Qwen2ForCausalLM: pre-norm decoder with GQA, RoPE (rotate-half, optional
// llama3 scaling), SwiGLU MLP, RMSNorm, optional tied embeddings; Qwen2 adds q/k/v biases.
// Flat, llama.cpp-style: one struct of weights, one forward loop over layers.
#include "engine/loader/load_error.h"
#include "engine/model/batch_check.h"
#include "engine/model/registry.h"
#include "engine/model/weights.h"
#include "engine/ops/backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace dpserve::engine {
namespace {

struct LlamaConfig {
  std::string architecture;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  int64_t max_positions = 0;
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScalingConfig rope_scaling;
  bool tied = false;
  bool qkv_bias = false;  // Qwen2 always; Llama with attention_bias
  bool o_bias = false;    // Llama with attention_bias
  bool mlp_bias = false;  // Llama with mlp_bias
  std::vector<int32_t> eos;
};

LlamaConfig parse_config(const HfConfig& c) {
  LlamaConfig cfg;
  cfg.architecture = c.architecture();
  const bool qwen2 = cfg.architecture == "Qwen2ForCausalLM";
  cfg.hidden = c.get_int("hidden_size");
  cfg.layers = c.get_int("num_hidden_layers");
  cfg.heads = c.get_int("num_attention_heads");
  cfg.kv_heads = c.get_int("num_key_value_heads", cfg.heads);
  if (cfg.heads <= 0 || cfg.kv_heads <= 0 || cfg.heads % cfg.kv_heads != 0) {
    throw LoadError(
        "config.json: num_attention_heads must be a positive multiple of "
        "num_key_value_heads");
  }
  cfg.head_dim = c.get_int("head_dim", cfg.hidden / cfg.heads);
  cfg.intermediate = c.get_int("intermediate_size");
  cfg.vocab = c.get_int("vocab_size");
  cfg.max_positions = c.get_int("max_position_embeddings", 0);
  cfg.rms_eps = c.get_double("rms_norm_eps", 1e-6);
  cfg.rope_theta = c.get_double("rope_theta", 10000.0);
  cfg.rope_scaling = parse_rope_scaling(c);
  if (cfg.rope_scaling.type == "yarn") {
    throw LoadError("config.json: yarn rope_scaling is not supported for " + cfg.architecture);
  }
  cfg.tied = c.get_bool("tie_word_embeddings", false);
  const bool attention_bias = c.get_bool("attention_bias", false);
  cfg.qkv_bias = qwen2 || attention_bias;
  cfg.o_bias = !qwen2 && attention_bias;
  cfg.mlp_bias = !qwen2 && c.get_bool("mlp_bias", false);
  if (qwen2 && c.get_bool("use_sliding_window", false)) {
    throw LoadError("config.json: Qwen2 use_sliding_window is not supported");
  }
  const std::string act = c.get_string("hidden_act", "silu");
  if (act != "silu") throw LoadError("config.json: hidden_act '" + act + "' is not supported");
  if (cfg.hidden <= 0 || cfg.layers <= 0 || cfg.head_dim <= 0 || cfg.intermediate <= 0 ||
      cfg.vocab <= 0) {
    throw LoadError("config.json: sizes must be positive");
  }
  cfg.eos = c.get_int_list("eos_token_id");
  return cfg;
}

ModelInfo info_of(const LlamaConfig& cfg) {
  ModelInfo info;
  info.architecture = cfg.architecture;
  info.num_layers = static_cast<int>(cfg.layers);
  info.vocab_size = static_cast<int>(cfg.vocab);
  info.max_position_embeddings = static_cast<int>(cfg.max_positions);
  info.kv_k_width = static_cast<int>(cfg.kv_heads * cfg.head_dim);
  info.kv_v_width = info.kv_k_width;
  info.eos_token_ids = cfg.eos;
  return info;
}

struct LlamaLayer {
  std::vector<float> attn_norm;
  std::vector<float> mlp_norm;
  LinearWeight qkv;      // q, k, v stacked: [(heads + 2 kv_heads) * head_dim, hidden]
  LinearWeight o;        // [hidden, heads * head_dim]
  LinearWeight gate_up;  // gate, up stacked: [2 * intermediate, hidden]
  LinearWeight down;     // [hidden, intermediate]
};

class LlamaModel : public Model {
 public:
  LlamaModel(const Checkpoint& ckpt, const LoadOptions& options)
      : cfg_(parse_config(ckpt.config())),
        info_(info_of(cfg_)),
        backend_(make_cpu_backend({options.threads, options.compute_dtype, options.gemv})) {
    const DType dt = backend_->weight_dtype();
    const int64_t d = cfg_.hidden;
    const int64_t q_width = cfg_.heads * cfg_.head_dim;
    const int64_t kv_width = cfg_.kv_heads * cfg_.head_dim;
    embed_ = ckpt.load_f32("model.embed_tokens.weight", {cfg_.vocab, d});
    final_norm_ = ckpt.load_f32("model.norm.weight", {d});
    if (cfg_.tied) {
      lm_head_ = linear_from_f32(embed_, cfg_.vocab, d, dt);
    } else {
      lm_head_ = load_linear(ckpt, "lm_head", cfg_.vocab, d, dt);
    }
    backend_->prepare(lm_head_);
    for (int64_t l = 0; l < cfg_.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      LlamaLayer layer;
      layer.attn_norm = ckpt.load_f32(p + "input_layernorm.weight", {d});
      layer.mlp_norm = ckpt.load_f32(p + "post_attention_layernorm.weight", {d});
      const bool qb = cfg_.qkv_bias;
      LinearWeight q = load_linear(ckpt, p + "self_attn.q_proj", q_width, d, dt, qb);
      LinearWeight k = load_linear(ckpt, p + "self_attn.k_proj", kv_width, d, dt, qb);
      LinearWeight v = load_linear(ckpt, p + "self_attn.v_proj", kv_width, d, dt, qb);
      layer.qkv = concat_rows({&q, &k, &v});
      layer.o = load_linear(ckpt, p + "self_attn.o_proj", d, q_width, dt, cfg_.o_bias);
      LinearWeight gate =
          load_linear(ckpt, p + "mlp.gate_proj", cfg_.intermediate, d, dt, cfg_.mlp_bias);
      LinearWeight up =
          load_linear(ckpt, p + "mlp.up_proj", cfg_.intermediate, d, dt, cfg_.mlp_bias);
      layer.gate_up = concat_rows({&gate, &up});
      layer.down = load_linear(ckpt, p + "mlp.down_proj", d, cfg_.intermediate, dt, cfg_.mlp_bias);
      backend_->prepare(layer.qkv);
      backend_->prepare(layer.o);
      backend_->prepare(layer.gate_up);
      backend_->prepare(layer.down);
      layers_.push_back(std::move(layer));
    }
    rope_ = make_rope_table(static_cast<int>(cfg_.head_dim), cfg_.rope_theta, cfg_.rope_scaling);
  }

  const ModelInfo& info() const override { return info_; }

  void forward(const Batch& batch, KvStorage& kv, std::span<float> logits) override {
    const int64_t m = validate_batch(batch, info_, kv, logits);
    const int64_t d = cfg_.hidden;
    const int64_t hd = cfg_.head_dim;
    const int64_t q_width = cfg_.heads * hd;
    const int64_t kv_width = cfg_.kv_heads * hd;
    const int64_t qkv_width = q_width + 2 * kv_width;
    const int64_t inter = cfg_.intermediate;
    const float eps = static_cast<float>(cfg_.rms_eps);

    hidden_.resize(m * d);
    normed_.resize(m * d);
    qkv_.resize(m * qkv_width);
    attn_.resize(m * q_width);
    proj_.resize(m * d);
    gate_up_.resize(m * 2 * inter);
    act_.resize(m * inter);
    positions_.resize(m);

    // Rows of all sequences are concatenated so each linear runs once per layer.
    int64_t row = 0;
    for (const SeqInput& seq : batch.seqs) {
      for (size_t j = 0; j < seq.tokens.size(); ++j, ++row) {
        std::memcpy(&hidden_[row * d], &embed_[static_cast<size_t>(seq.tokens[j]) * d],
                    d * sizeof(float));
        positions_[row] = seq.start_pos + static_cast<int64_t>(j);
      }
    }

    for (int64_t l = 0; l < cfg_.layers; ++l) {
      const LlamaLayer& layer = layers_[l];
      const int li = static_cast<int>(l);
      backend_->rms_norm(hidden_.data(), layer.attn_norm.data(), m, d, eps, normed_.data());
      backend_->linear(normed_.data(), m, layer.qkv, qkv_.data());
      backend_->rope(qkv_.data(), m, static_cast<int>(cfg_.heads), qkv_width, hd, positions_.data(),
                     rope_, RopeStyle::kNeox);
      backend_->rope(qkv_.data() + q_width, m, static_cast<int>(cfg_.kv_heads), qkv_width, hd,
                     positions_.data(), rope_, RopeStyle::kNeox);
      row = 0;
      for (const SeqInput& seq : batch.seqs) {
        const int64_t n = static_cast<int64_t>(seq.tokens.size());
        for (int64_t j = 0; j < n; ++j) {
          const float* src = &qkv_[(row + j) * qkv_width];
          const int64_t slot = seq.slots[seq.start_pos + j];
          std::memcpy(kv.k(li, slot), src + q_width, kv_width * sizeof(float));
          std::memcpy(kv.v(li, slot), src + q_width + kv_width, kv_width * sizeof(float));
        }
        AttentionParams a;
        a.q = &qkv_[row * qkv_width];
        a.q_row_stride = qkv_width;
        a.n_tokens = n;
        a.n_heads = static_cast<int>(cfg_.heads);
        a.n_kv_heads = static_cast<int>(cfg_.kv_heads);
        a.qk_dim = static_cast<int>(hd);
        a.v_dim = static_cast<int>(hd);
        a.start_pos = seq.start_pos;
        a.slots = seq.slots;
        a.k = kv.k(li, 0);
        a.k_row_stride = kv.k_width();
        a.v = kv.v(li, 0);
        a.v_row_stride = kv.v_width();
        a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
        a.out = &attn_[row * q_width];
        a.out_row_stride = q_width;
        backend_->attention(a);
        row += n;
      }
      backend_->linear(attn_.data(), m, layer.o, proj_.data());
      backend_->add(hidden_.data(), proj_.data(), m * d);

      backend_->rms_norm(hidden_.data(), layer.mlp_norm.data(), m, d, eps, normed_.data());
      backend_->linear(normed_.data(), m, layer.gate_up, gate_up_.data());
      backend_->silu_mul(gate_up_.data(), m, inter, act_.data());
      backend_->linear(act_.data(), m, layer.down, proj_.data());
      backend_->add(hidden_.data(), proj_.data(), m * d);
    }

    // Only each sequence's last new token needs logits.
    const int64_t s_count = static_cast<int64_t>(batch.seqs.size());
    last_.resize(s_count * d);
    row = 0;
    for (int64_t s = 0; s < s_count; ++s) {
      row += static_cast<int64_t>(batch.seqs[s].tokens.size());
      std::memcpy(&last_[s * d], &hidden_[(row - 1) * d], d * sizeof(float));
    }
    backend_->rms_norm(last_.data(), final_norm_.data(), s_count, d, eps, last_.data());
    backend_->linear(last_.data(), s_count, lm_head_, logits.data());
  }

 private:
  LlamaConfig cfg_;
  ModelInfo info_;
  std::unique_ptr<Backend> backend_;
  std::vector<float> embed_;
  std::vector<float> final_norm_;
  LinearWeight lm_head_;
  std::vector<LlamaLayer> layers_;
  RopeTable rope_;
  // Scratch reused across steps; a model is driven by one thread at a time.
  std::vector<float> hidden_, normed_, qkv_, attn_, proj_, gate_up_, act_, last_;
  std::vector<int64_t> positions_;
};

}  // namespace

std::unique_ptr<Model> make_llama_model(const Checkpoint& checkpoint, const LoadOptions& options) {
  return std::make_unique<LlamaModel>(checkpoint, options);
}

ModelInfo describe_llama_model(const HfConfig& config) { return info_of(parse_config(config)); }

}  // namespace dpserve::engine
