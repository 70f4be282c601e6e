// Llama/Qwen2 forward pass against the independent NumPy reference, and the Model contract:
// prefill == decode steps, chunked prefill, batching, scattered KV slots, clear load errors.
#include "engine/loader/load_error.h"
#include "engine/model/load_model.h"
#include "engine/model/npy.h"
#include "engine/model/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>

namespace dpserve::engine {
namespace {

using testing::relative_error;
using testing::TempDir;

const std::vector<int32_t> kTokens = {1, 17, 300, 5, 5, 42, 511, 0, 99, 260, 7, 128, 64, 3};

// Logits of every position, one decode step per token, KV in slots `slots`.
std::vector<float> decode_steps(Model& model, const std::vector<int32_t>& tokens,
                                const std::vector<int64_t>& slots, int64_t num_slots) {
  const ModelInfo& info = model.info();
  KvStorage kv(info.num_layers, num_slots, info.kv_k_width, info.kv_v_width);
  std::vector<float> all(tokens.size() * info.vocab_size);
  for (size_t i = 0; i < tokens.size(); ++i) {
    Batch batch;
    batch.seqs.push_back({std::span<const int32_t>(&tokens[i], 1), static_cast<int64_t>(i), slots});
    model.forward(batch, kv, std::span<float>(&all[i * info.vocab_size], info.vocab_size));
  }
  return all;
}

std::vector<float> last_row(const std::vector<float>& all, int vocab) {
  return {all.end() - vocab, all.end()};
}

std::vector<int64_t> iota_slots(size_t n) {
  std::vector<int64_t> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<int64_t>(i);
  return s;
}

std::vector<float> reference_logits(const std::string& dir, const std::vector<int32_t>& tokens,
                                    const std::string& out) {
  std::string list;
  for (int32_t t : tokens) {
    if (!list.empty()) list += ',';
    list += std::to_string(t);
  }
  const std::string cmd = "/usr/bin/python3 " DPSERVE_SOURCE_DIR
                          "/tests/reference/llama_reference.py " +
                          dir + " --tokens " + list + " --out " + out;
  EXPECT_EQ(testing::run_command(cmd), 0) << cmd;
  return read_npy(out).data;
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json cfg;
  std::ifstream(dir + "/config.json") >> cfg;
  edit(cfg);
  std::ofstream(dir + "/config.json") << cfg.dump(2);
}

class ArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchTest, MatchesNumpyReferenceAtEveryPosition) {
  TempDir dir;
  testing::make_tiny(dir.path(), GetParam(), 3);
  auto model = load_model(dir.path(), {2, DType::kF32});
  const auto ours = decode_steps(*model, kTokens, iota_slots(kTokens.size()), kTokens.size());
  const auto ref = reference_logits(dir.path(), kTokens, dir.file("ref.npy"));
  ASSERT_EQ(ours.size(), ref.size());
  EXPECT_LT(relative_error(ours, ref), 1e-4);
  // The logits are not degenerate: positions differ and the check has something to see.
  const int v = model->info().vocab_size;
  EXPECT_GT(relative_error({ours.begin(), ours.begin() + v}, last_row(ours, v)), 0.05);
}

TEST_P(ArchTest, BF16CheckpointMatchesReference) {
  TempDir dir;
  testing::make_tiny(dir.path(), GetParam(), 4, DType::kBF16);
  auto model = load_model(dir.path(), {1, DType::kF32});
  const auto ours = decode_steps(*model, kTokens, iota_slots(kTokens.size()), kTokens.size());
  EXPECT_LT(relative_error(ours, reference_logits(dir.path(), kTokens, dir.file("ref.npy"))), 1e-4);
}

TEST_P(ArchTest, PrefillEqualsDecodeStepsAndChunks) {
  TempDir dir;
  testing::make_tiny(dir.path(), GetParam(), 5);
  auto model = load_model(dir.path(), {2, DType::kF32});
  const ModelInfo& info = model->info();
  const auto slots = iota_slots(kTokens.size());
  const auto steps = decode_steps(*model, kTokens, slots, kTokens.size());

  KvStorage kv(info.num_layers, kTokens.size(), info.kv_k_width, info.kv_v_width);
  std::vector<float> prefill(info.vocab_size);
  Batch batch;
  batch.seqs.push_back({kTokens, 0, slots});
  model->forward(batch, kv, prefill);
  EXPECT_LT(relative_error(prefill, last_row(steps, info.vocab_size)), 1e-5);

  // Chunked: 5 tokens, then the remaining 9 on top of the cached prefix.
  KvStorage kv2(info.num_layers, kTokens.size(), info.kv_k_width, info.kv_v_width);
  std::vector<float> chunk(info.vocab_size);
  std::span<const int32_t> all(kTokens);
  Batch first;
  first.seqs.push_back({all.subspan(0, 5), 0, slots});
  model->forward(first, kv2, chunk);
  EXPECT_LT(relative_error(
                chunk, {steps.begin() + 4 * info.vocab_size, steps.begin() + 5 * info.vocab_size}),
            1e-5);
  Batch second;
  second.seqs.push_back({all.subspan(5), 5, slots});
  model->forward(second, kv2, chunk);
  EXPECT_LT(relative_error(chunk, last_row(steps, info.vocab_size)), 1e-5);
}

TEST_P(ArchTest, BatchedSequencesWithScatteredSlotsAreIndependent) {
  TempDir dir;
  testing::make_tiny(dir.path(), GetParam(), 6);
  auto model = load_model(dir.path(), {2, DType::kF32});
  const ModelInfo& info = model->info();
  const std::vector<int32_t> a = {4, 8, 15, 16, 23, 42};
  const std::vector<int32_t> b = {300, 2, 9};
  const auto alone_a = decode_steps(*model, a, iota_slots(a.size()), a.size());
  const auto alone_b = decode_steps(*model, b, iota_slots(b.size()), b.size());

  // Both sequences share one KV storage with interleaved, out-of-order slots.
  const std::vector<int64_t> slots_a = {10, 3, 7, 0, 12, 5};
  const std::vector<int64_t> slots_b = {8, 1, 11};
  KvStorage kv(info.num_layers, 13, info.kv_k_width, info.kv_v_width);
  std::vector<float> logits(2 * info.vocab_size);
  // Step 1: prefill a's first 4 tokens and all of b in one batch.
  Batch batch;
  batch.seqs.push_back({std::span<const int32_t>(a).subspan(0, 4), 0, slots_a});
  batch.seqs.push_back({b, 0, slots_b});
  model->forward(batch, kv, logits);
  EXPECT_LT(relative_error({logits.begin() + info.vocab_size, logits.end()},
                           last_row(alone_b, info.vocab_size)),
            1e-5);
  // Step 2: a decodes its 5th token while b is absent; step 3: a's 6th.
  for (int64_t i = 4; i < 6; ++i) {
    Batch step;
    step.seqs.push_back({std::span<const int32_t>(a).subspan(i, 1), i, slots_a});
    std::vector<float> row(info.vocab_size);
    model->forward(step, kv, row);
    EXPECT_LT(relative_error(row, {alone_a.begin() + i * info.vocab_size,
                                   alone_a.begin() + (i + 1) * info.vocab_size}),
              1e-5);
  }
}

TEST_P(ArchTest, Bf16ComputeStaysCloseToF32) {
  TempDir dir;
  testing::make_tiny(dir.path(), GetParam(), 7);
  auto f32 = load_model(dir.path(), {1, DType::kF32});
  std::unique_ptr<Model> bf16;
  try {
    bf16 = load_model(dir.path(), {1, DType::kBF16});
  } catch (const std::invalid_argument& e) {
    GTEST_SKIP() << e.what();
  }
  const auto slots = iota_slots(kTokens.size());
  const auto a = decode_steps(*f32, kTokens, slots, kTokens.size());
  const auto b = decode_steps(*bf16, kTokens, slots, kTokens.size());
  const double err = relative_error(b, a);
  EXPECT_LT(err, 5e-2);
  EXPECT_GT(err, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Families, ArchTest, ::testing::Values("llama", "qwen2"));

TEST(LoadModel, DescribesKvBytes) {
  TempDir dir;
  testing::make_tiny(dir.path(), "llama");
  const ModelInfo info = describe_model(dir.path());
  EXPECT_EQ(info.architecture, "LlamaForCausalLM");
  EXPECT_EQ(info.kv_k_width, 2 * 16);  // 2 kv heads x head_dim 16
  EXPECT_EQ(info.kv_bytes_per_token(), 2 * (32 + 32) * 4);
  EXPECT_FALSE(info.eos_token_ids.empty());
}

TEST(LoadModel, UnsupportedArchitectureIsAClearError) {
  TempDir dir;
  testing::make_tiny(dir.path(), "llama");
  edit_config(dir.path(), [](nlohmann::json& c) { c["architectures"] = {"GPT2LMHeadModel"}; });
  try {
    load_model(dir.path(), {});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported architecture 'GPT2LMHeadModel'"),
              std::string::npos)
        << e.what();
  }
}

TEST(LoadModel, MissingTensorAndWrongShapeAreClearErrors) {
  TempDir dir;
  testing::make_tiny(dir.path(), "qwen2");
  // Untied Qwen2 needs lm_head.weight, which a tied checkpoint does not have.
  edit_config(dir.path(), [](nlohmann::json& c) { c["tie_word_embeddings"] = false; });
  try {
    load_model(dir.path(), {});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'lm_head.weight'"), std::string::npos)
        << e.what();
  }
  edit_config(dir.path(), [](nlohmann::json& c) {
    c["tie_word_embeddings"] = true;
    c["intermediate_size"] = 96;
  });
  try {
    load_model(dir.path(), {});
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("gate_proj.weight' has shape [128, 64]"),
              std::string::npos)
        << e.what();
  }
}

TEST(LoadModel, BadBatchIsRejectedWithoutTouchingKv) {
  TempDir dir;
  testing::make_tiny(dir.path(), "llama");
  auto model = load_model(dir.path(), {});
  const ModelInfo& info = model->info();
  KvStorage kv(info.num_layers, 4, info.kv_k_width, info.kv_v_width);
  std::vector<float> logits(info.vocab_size);
  const std::vector<int64_t> slots = {0, 1, 2};
  const std::vector<int32_t> bad_token = {1, 512};
  const std::vector<int32_t> ok = {1, 2};
  const std::vector<int64_t> bad_slots = {0, 4};
  Batch b1;
  b1.seqs.push_back({bad_token, 0, slots});
  EXPECT_THROW(model->forward(b1, kv, logits), std::invalid_argument);
  Batch b2;
  b2.seqs.push_back({ok, 0, bad_slots});
  EXPECT_THROW(model->forward(b2, kv, logits), std::invalid_argument);
  Batch b3;
  b3.seqs.push_back({ok, 2, slots});  // needs 4 slots
  EXPECT_THROW(model->forward(b3, kv, logits), std::invalid_argument);
  std::vector<float> small(3);
  Batch b4;
  b4.seqs.push_back({ok, 0, slots});
  EXPECT_THROW(model->forward(b4, kv, small), std::invalid_argument);
  for (int64_t s = 0; s < kv.num_slots(); ++s) EXPECT_EQ(kv.k(0, s)[0], 0.0f);
}

}  // namespace
}  // namespace dpserve::engine
