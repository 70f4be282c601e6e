// DeepSeek-V2/V3 on tiny seeded checkpoints: logits against the independent NumPy reference
// (tests/reference/deepseek_ref.py), prefill == decode steps, absorbed MLA == expanded MLA, mixed
// batches, and load-time errors.
#include "engine/model/deepseek.h"

#include "engine/loader/checkpoint.h"
#include "engine/loader/load_error.h"
#include "engine/model/load_model.h"
#include "engine/model/npy.h"
#include "engine/model/presets.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace dpserve::engine {
namespace {

namespace fs = std::filesystem;

const std::vector<int32_t> kTokens = {1, 77, 301, 12, 499, 256, 3, 88, 140, 7, 402, 64, 9, 311};

struct Logits {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;
  std::span<const float> row(int64_t r) const {
    return std::span<const float>(&data[static_cast<size_t>(r * cols)], static_cast<size_t>(cols));
  }
};

double rel_err(std::span<const float> got, std::span<const float> want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double{got[i]} - want[i]));
    scale = std::max(scale, std::fabs(double{want[i]}));
  }
  return diff / scale;
}

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 (std::string("dpserve_deepseek_test_") + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A tiny checkpoint of `arch`, with config.json edited by `edit` (routing variants).
std::string make_checkpoint(const std::string& name, const std::string& arch,
                            const std::function<void(nlohmann::json&)>& edit = {}) {
  const fs::path dir = scratch_dir(name);
  CreateOptions options;
  options.arch = arch;
  options.preset = "tiny";
  options.seed = 7;
  options.out = dir.string();
  create_checkpoint(options);
  if (edit) {
    nlohmann::json config;
    std::ifstream(dir / "config.json") >> config;
    edit(config);
    std::ofstream(dir / "config.json") << config.dump(2);
  }
  return dir.string();
}

std::string join(const std::vector<int32_t>& tokens) {
  std::string out;
  for (int32_t t : tokens) {
    if (!out.empty()) out += ',';
    out += std::to_string(t);
  }
  return out;
}

Logits reference_logits(const std::string& dir, const std::vector<int32_t>& tokens) {
  const std::string out = dir + "/reference.npy";
  const std::string cmd = std::string("/usr/bin/python3 ") + DPSERVE_SOURCE_DIR +
                          "/tests/reference/deepseek_ref.py --model " + dir + " --tokens " +
                          join(tokens) + " --out " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  NpyArray a = read_npy(out);
  return {a.rows, a.cols, std::move(a.data)};
}

std::unique_ptr<Model> load(const std::string& dir, MlaMode mode, DType dtype = DType::kF32) {
  LoadOptions options;
  options.threads = 2;
  options.compute_dtype = dtype;
  return make_deepseek_model_with_mode(Checkpoint(dir), options, mode);
}

// Every position's logits, one single-token decode step at a time, in slots 2p + 1 so slot and
// position differ.
Logits decode_steps(Model& model, const std::vector<int32_t>& tokens) {
  const ModelInfo& info = model.info();
  const int64_t n = static_cast<int64_t>(tokens.size());
  KvStorage kv(info.num_layers, 2 * n + 1, info.kv_k_width, info.kv_v_width);
  std::vector<int64_t> slots(n);
  for (int64_t i = 0; i < n; ++i) slots[i] = 2 * i + 1;
  Logits out{n, info.vocab_size, std::vector<float>(static_cast<size_t>(n * info.vocab_size))};
  for (int64_t i = 0; i < n; ++i) {
    Batch batch;
    batch.seqs.push_back({std::span<const int32_t>(&tokens[i], 1), i, slots});
    model.forward(batch, kv,
                  std::span<float>(&out.data[static_cast<size_t>(i * out.cols)],
                                   static_cast<size_t>(out.cols)));
  }
  return out;
}

// The last position's logits after prefilling the tokens in chunks of the given sizes.
std::vector<float> prefill(Model& model, const std::vector<int32_t>& tokens,
                           const std::vector<size_t>& chunks) {
  const ModelInfo& info = model.info();
  const int64_t n = static_cast<int64_t>(tokens.size());
  KvStorage kv(info.num_layers, n + 3, info.kv_k_width, info.kv_v_width);
  std::vector<int64_t> slots(n);
  for (int64_t i = 0; i < n; ++i) slots[i] = n + 2 - i;  // reversed: slot order != position order
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));
  size_t start = 0;
  for (size_t len : chunks) {
    Batch batch;
    batch.seqs.push_back(
        {std::span<const int32_t>(&tokens[start], len), static_cast<int64_t>(start), slots});
    model.forward(batch, kv, logits);
    start += len;
  }
  EXPECT_EQ(start, tokens.size());
  return logits;
}

struct Variant {
  const char* name;
  const char* arch;
  std::function<void(nlohmann::json&)> edit;
};

// V2: no q_lora_rank, softmax scoring, group-limited greedy (preset) and plain greedy; V3:
// q_lora_rank, sigmoid + noaux_tc with e_score_correction_bias and norm_topk_prob (preset), and
// sigmoid scores under group-limited greedy without the bias.
std::vector<Variant> variants() {
  return {
      {"v2_group_limited", "deepseek_v2", {}},
      {"v2_greedy", "deepseek_v2",
       [](nlohmann::json& c) {
         c["topk_method"] = "greedy";
         c["norm_topk_prob"] = true;
       }},
      {"v3_noaux_tc", "deepseek_v3", {}},
      {"v3_group_limited_sigmoid", "deepseek_v3",
       [](nlohmann::json& c) {
         c["topk_method"] = "group_limited_greedy";
         c["norm_topk_prob"] = false;
         c["routed_scaling_factor"] = 1.0;
       }},
  };
}

class DeepseekReferenceTest : public ::testing::TestWithParam<Variant> {};

TEST_P(DeepseekReferenceTest, MatchesNumpyReferenceInBothMlaPaths) {
  const Variant& v = GetParam();
  const std::string dir = make_checkpoint(v.name, v.arch, v.edit);
  const Logits want = reference_logits(dir, kTokens);
  ASSERT_EQ(want.rows, static_cast<int64_t>(kTokens.size()));
  const int64_t last = want.rows - 1;
  for (MlaMode mode : {MlaMode::kExpanded, MlaMode::kAbsorbed, MlaMode::kAuto}) {
    SCOPED_TRACE(static_cast<int>(mode));
    auto model = load(dir, mode);
    ASSERT_EQ(model->info().vocab_size, want.cols);
    const Logits got = decode_steps(*model, kTokens);
    for (int64_t r = 0; r < want.rows; ++r) {
      EXPECT_LT(rel_err(got.row(r), want.row(r)), 1e-4) << "decode position " << r;
    }
    const std::vector<float> one_shot = prefill(*model, kTokens, {kTokens.size()});
    const std::vector<float> chunked = prefill(*model, kTokens, {5, 1, 8});
    EXPECT_LT(rel_err(one_shot, want.row(last)), 1e-4);
    EXPECT_LT(rel_err(chunked, want.row(last)), 1e-4);
    // Prefill of N tokens == N decode steps, closer than either is to the float64 reference.
    EXPECT_LT(rel_err(one_shot, got.row(last)), 1e-5);
    EXPECT_LT(rel_err(chunked, got.row(last)), 1e-5);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Tiny, DeepseekReferenceTest, ::testing::ValuesIn(variants()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(DeepseekModelTest, AbsorbedAndExpandedAgreeClosely) {
  const std::string dir = make_checkpoint("paths", "deepseek_v3");
  auto expanded = load(dir, MlaMode::kExpanded);
  auto absorbed = load(dir, MlaMode::kAbsorbed);
  const Logits a = decode_steps(*expanded, kTokens);
  const Logits b = decode_steps(*absorbed, kTokens);
  // Same math in a different association order: f32 rounding only.
  EXPECT_LT(rel_err(b.data, a.data), 2e-5);
  EXPECT_LT(rel_err(prefill(*absorbed, kTokens, {kTokens.size()}),
                    prefill(*expanded, kTokens, {kTokens.size()})),
            2e-5);
  fs::remove_all(dir);
}

TEST(DeepseekModelTest, MixedBatchEqualsSeparateRuns) {
  const std::string dir = make_checkpoint("batch", "deepseek_v2");
  auto model = load(dir, MlaMode::kAuto);
  const ModelInfo& info = model->info();
  const std::vector<int32_t> a(kTokens.begin(), kTokens.begin() + 9);
  const std::vector<int32_t> b(kTokens.begin() + 3, kTokens.end());
  const std::vector<int32_t> c(kTokens.begin() + 5, kTokens.begin() + 11);
  // Alone: the reference answers.
  const std::vector<float> want_a = prefill(*model, a, {a.size()});
  const std::vector<float> want_b = prefill(*model, b, {b.size()});
  const std::vector<float> want_c = prefill(*model, c, {c.size()});

  // Together, interleaved slots. Step 2 puts b's first chunk (start 0: expanded is cheaper)
  // between the decode tokens of a and c (absorbed under kAuto), so both paths run in one batch.
  KvStorage kv(info.num_layers, 80, info.kv_k_width, info.kv_v_width);
  std::vector<int64_t> slots_a, slots_b, slots_c;
  for (int64_t i = 0; i < 32; ++i) {
    slots_a.push_back(2 * i);
    slots_b.push_back(63 - 2 * i);
  }
  for (int64_t i = 0; i < 16; ++i) slots_c.push_back(79 - i);
  std::vector<float> one(static_cast<size_t>(info.vocab_size));
  std::vector<float> two(2 * static_cast<size_t>(info.vocab_size));
  std::vector<float> three(3 * static_cast<size_t>(info.vocab_size));
  Batch first;
  first.seqs.push_back({std::span<const int32_t>(a.data(), 8), 0, slots_a});
  first.seqs.push_back({std::span<const int32_t>(c.data(), 5), 0, slots_c});
  model->forward(first, kv, two);
  Batch second;
  second.seqs.push_back({std::span<const int32_t>(a.data() + 8, 1), 8, slots_a});
  second.seqs.push_back({std::span<const int32_t>(b.data(), 6), 0, slots_b});
  second.seqs.push_back({std::span<const int32_t>(c.data() + 5, 1), 5, slots_c});
  model->forward(second, kv, three);
  const auto vocab = static_cast<size_t>(info.vocab_size);
  const std::vector<float> logits_a(three.begin(), three.begin() + vocab);
  const std::vector<float> logits_c(three.begin() + 2 * vocab, three.end());
  Batch third;
  third.seqs.push_back({std::span<const int32_t>(b.data() + 6, b.size() - 6), 6, slots_b});
  model->forward(third, kv, one);
  EXPECT_LT(rel_err(logits_a, want_a), 1e-5);
  EXPECT_LT(rel_err(one, want_b), 1e-5);
  EXPECT_LT(rel_err(logits_c, want_c), 1e-5);
  fs::remove_all(dir);
}

TEST(DeepseekModelTest, Bf16ComputeStaysCloseToReference) {
  // V2's softmax router: V3's sigmoid + bias router on this tiny model has near-tied experts that
  // bf16 activations flip at two positions (a discrete jump, not an accuracy loss of the path).
  const std::string dir = make_checkpoint("bf16", "deepseek_v2");
  std::unique_ptr<Model> model;
  try {
    model = load(dir, MlaMode::kAuto, DType::kBF16);
  } catch (const std::invalid_argument& e) {
    fs::remove_all(dir);
    GTEST_SKIP() << "no bf16 compute on this CPU: " << e.what();
  }
  const Logits want = reference_logits(dir, kTokens);
  const Logits got = decode_steps(*model, kTokens);
  // bf16 weights and activations: ~3 significant digits per matmul; measured ~1% over 3 layers.
  EXPECT_LT(rel_err(got.data, want.data), 5e-2);
  EXPECT_GT(rel_err(got.data, want.data), 1e-4);  // it really ran in bf16
  fs::remove_all(dir);
}

TEST(DeepseekModelTest, DescribeReportsLatentKvRow) {
  const std::string dir = make_checkpoint("describe", "deepseek_v2");
  const ModelInfo info = describe_model(dir);
  EXPECT_EQ(info.architecture, "DeepseekV2ForCausalLM");
  EXPECT_EQ(info.num_layers, 3);
  EXPECT_EQ(info.kv_k_width, 32 + 16);  // kv_lora_rank + qk_rope_head_dim: one latent head
  EXPECT_EQ(info.kv_v_width, 0);
  EXPECT_EQ(info.kv_bytes_per_token(), 3 * 48 * 4);
  auto model = load_model(dir, LoadOptions{});
  EXPECT_EQ(model->info().kv_k_width, info.kv_k_width);
  fs::remove_all(dir);
}

TEST(DeepseekModelTest, LoadErrorsNameTheProblem) {
  auto expect_load_error = [](const std::string& dir, const std::string& needle) {
    try {
      load_model(dir, LoadOptions{});
      ADD_FAILURE() << "loaded despite " << needle;
    } catch (const LoadError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::string dir = make_checkpoint("bad_shape", "deepseek_v2",
                                    [](nlohmann::json& c) { c["kv_lora_rank"] = 40; });
  expect_load_error(dir, "kv_a_proj_with_mqa");
  fs::remove_all(dir);
  dir = make_checkpoint("bad_method", "deepseek_v3",
                        [](nlohmann::json& c) { c["topk_method"] = "random"; });
  expect_load_error(dir, "topk_method");
  fs::remove_all(dir);
  dir = make_checkpoint("bad_groups", "deepseek_v3", [](nlohmann::json& c) { c["n_group"] = 3; });
  expect_load_error(dir, "n_group");
  fs::remove_all(dir);
  dir = make_checkpoint("fp8", "deepseek_v3", [](nlohmann::json& c) {
    c["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {128, 128}}};
  });
  expect_load_error(dir, "quantization_config");
  fs::remove_all(dir);
  // V2 checkpoints have no e_score_correction_bias: asking for noaux_tc must name the tensor.
  dir = make_checkpoint("no_bias", "deepseek_v2",
                        [](nlohmann::json& c) { c["topk_method"] = "noaux_tc"; });
  expect_load_error(dir, "e_score_correction_bias");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dpserve::engine
