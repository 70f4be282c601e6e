#include "engine/model/test_util.h"
#include "engine/ops/backend.h"
#include "engine/ops/thread_pool.h"
#include "engine/ops/vec.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numbers>
#include <random>
#include <thread>

namespace dpserve::engine {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

LinearWeight random_linear(int64_t out, int64_t in, bool bias, uint32_t seed) {
  LinearWeight w;
  w.out = out;
  w.in = in;
  w.f32 = random_vector(out * in, seed);
  if (bias) w.bias = random_vector(out, seed + 1);
  return w;
}

std::vector<float> naive_linear(const std::vector<float>& x, int64_t m, const LinearWeight& w) {
  std::vector<float> y(m * w.out);
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t o = 0; o < w.out; ++o) {
      double acc = w.bias.empty() ? 0.0 : w.bias[o];
      for (int64_t i = 0; i < w.in; ++i) acc += double{x[r * w.in + i]} * w.f32[o * w.in + i];
      y[r * w.out + o] = static_cast<float>(acc);
    }
  }
  return y;
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, HandsOverJobsWhileSpinningAndAfterSleeping) {
  // Back-to-back jobs meet spinning workers; the pauses longer than kSpin meet sleeping ones.
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  int64_t expected = 0;
  for (int round = 0; round < 2000; ++round) {
    const int64_t n = 1 + round % 9;
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) total += i + 1;
    });
    expected += n * (n + 1) / 2;
    ASSERT_EQ(total.load(), expected) << "round " << round;
    if (round % 500 == 0) std::this_thread::sleep_for(ThreadPool::kSpin * 3);
  }
}

TEST(Vec, DotAndAxpyMatchDoubleForEveryTail) {
  for (int64_t n : {1, 5, 16, 17, 31, 32, 33, 64, 100, 512}) {
    const auto a = random_vector(n, 21);
    const auto b = random_vector(n, 22);
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) ref += double{a[i]} * b[i];
    EXPECT_NEAR(dot_f32(a.data(), b.data(), n), ref, 1e-5 * std::sqrt(double(n))) << "n=" << n;
    std::vector<float> y = b;
    axpy_f32(y.data(), 0.75f, a.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(y[i], b[i] + 0.75 * a[i], 1e-6) << "n=" << n << " i=" << i;
    }
  }
}

class LinearTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(LinearTest, F32MatchesNaive) {
  auto backend = make_cpu_backend({2, DType::kF32});
  const int64_t m = GetParam();
  LinearWeight w = random_linear(48, 80, /*bias=*/true, 7);
  backend->prepare(w);
  const auto x = random_vector(m * 80, 3);
  std::vector<float> y(m * 48);
  backend->linear(x.data(), m, w, y.data());
  EXPECT_LT(testing::relative_error(y, naive_linear(x, m, w)), 1e-6);
}

TEST_P(LinearTest, Bf16MatchesNaiveWithinBf16Rounding) {
  std::unique_ptr<Backend> backend;
  try {
    backend = make_cpu_backend({2, DType::kBF16});
  } catch (const std::invalid_argument& e) {
    GTEST_SKIP() << e.what();
  }
  const int64_t m = GetParam();
  LinearWeight ref = random_linear(48, 80, /*bias=*/true, 9);
  LinearWeight w = ref;
  w.dtype = DType::kBF16;
  w.bf16.resize(w.f32.size());
  for (size_t i = 0; i < w.f32.size(); ++i) w.bf16[i] = f32_to_bf16(w.f32[i]);
  w.f32.clear();
  backend->prepare(w);
  const auto x = random_vector(m * 80, 4);
  std::vector<float> y(m * 48);
  backend->linear(x.data(), m, w, y.data());
  // Inputs and weights each lose ~2^-9 relative; sums of 80 products stay within ~1%.
  EXPECT_LT(testing::relative_error(y, naive_linear(x, m, ref)), 1e-2);
  EXPECT_GT(testing::relative_error(y, naive_linear(x, m, ref)), 0.0);  // really went through bf16
}

INSTANTIATE_TEST_SUITE_P(Rows, LinearTest, ::testing::Values(1, 2, 17));

TEST(Ops, RmsNormSiluSoftmax) {
  auto backend = make_cpu_backend({1, DType::kF32});
  std::vector<float> x = {1, 2, 3, 4, -1, -1, -1, -1};
  std::vector<float> w = {1, 2, 1, 0.5f};
  std::vector<float> y(8);
  backend->rms_norm(x.data(), w.data(), 2, 4, 0.0f, y.data());
  const float inv = 1.0f / std::sqrt(7.5f);
  EXPECT_FLOAT_EQ(y[1], 2 * 2 * inv);
  EXPECT_FLOAT_EQ(y[4], -1.0f);
  std::vector<float> gu = {0.5f, -2.0f, 3.0f, 4.0f};  // one row: gate [0.5, -2], up [3, 4]
  std::vector<float> act(2);
  backend->silu_mul(gu.data(), 1, 2, act.data());
  EXPECT_FLOAT_EQ(act[0], 0.5f / (1 + std::exp(-0.5f)) * 3);
  EXPECT_FLOAT_EQ(act[1], -2.0f / (1 + std::exp(2.0f)) * 4);
  std::vector<float> s = {1, 2, 3, 1000, 1000, 1000};
  backend->softmax(s.data(), 2, 3);
  EXPECT_NEAR(s[0] + s[1] + s[2], 1.0, 1e-6);
  EXPECT_NEAR(s[2] / s[1], std::exp(1.0), 1e-5);
  EXPECT_NEAR(s[4], 1.0 / 3, 1e-6);
}

TEST(Rope, NeoxAndInterleavedRotatePairs) {
  auto backend = make_cpu_backend({1, DType::kF32});
  RopeTable table = make_rope_table(8, 10000.0, RopeScalingConfig{});
  ASSERT_EQ(table.inv_freq.size(), 4u);
  EXPECT_FLOAT_EQ(table.inv_freq[1], 1.0f / std::pow(10000.0f, 0.25f));
  // Two heads of 8, the second head offset by 8; position 3.
  std::vector<float> x = random_vector(16, 11);
  std::vector<float> neox = x, inter = x;
  const int64_t pos = 3;
  backend->rope(neox.data(), 1, 2, 16, 8, &pos, table, RopeStyle::kNeox);
  backend->rope(inter.data(), 1, 2, 16, 8, &pos, table, RopeStyle::kInterleaved);
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 4; ++i) {
      const double a = 3.0 * table.inv_freq[i];
      const float* in = &x[h * 8];
      EXPECT_NEAR(neox[h * 8 + i], in[i] * std::cos(a) - in[i + 4] * std::sin(a), 1e-6);
      EXPECT_NEAR(neox[h * 8 + i + 4], in[i + 4] * std::cos(a) + in[i] * std::sin(a), 1e-6);
      EXPECT_NEAR(inter[h * 8 + 2 * i], in[2 * i] * std::cos(a) - in[2 * i + 1] * std::sin(a),
                  1e-6);
      EXPECT_NEAR(inter[h * 8 + 2 * i + 1], in[2 * i + 1] * std::cos(a) + in[2 * i] * std::sin(a),
                  1e-6);
    }
  }
}

TEST(Rope, Llama3ScalingBands) {
  RopeScalingConfig s;
  s.type = "llama3";
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 64;
  const RopeTable plain = make_rope_table(16, 10000.0, RopeScalingConfig{});
  const RopeTable scaled = make_rope_table(16, 10000.0, s);
  int kept = 0, divided = 0, smoothed = 0;
  for (size_t i = 0; i < plain.inv_freq.size(); ++i) {
    const double wavelen = 2 * std::numbers::pi / plain.inv_freq[i];
    if (wavelen < 16) {
      EXPECT_FLOAT_EQ(scaled.inv_freq[i], plain.inv_freq[i]);
      ++kept;
    } else if (wavelen > 64) {
      EXPECT_FLOAT_EQ(scaled.inv_freq[i], plain.inv_freq[i] / 8);
      ++divided;
    } else {
      EXPECT_LT(scaled.inv_freq[i], plain.inv_freq[i]);
      EXPECT_GT(scaled.inv_freq[i], plain.inv_freq[i] / 8);
      ++smoothed;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(smoothed, 0);
}

TEST(Rope, YarnMatchesDeepseekFormula) {
  RopeScalingConfig s;
  s.type = "yarn";
  s.factor = 40;
  s.original_max_position_embeddings = 4096;
  s.beta_fast = 32;
  s.beta_slow = 1;
  s.mscale = 0.707;
  s.mscale_all_dim = 0.707;
  const RopeTable t = make_rope_table(64, 10000.0, s);
  EXPECT_FLOAT_EQ(t.mscale, 1.0f);  // mscale == mscale_all_dim cancels
  EXPECT_NEAR(yarn_get_mscale(40, 0.707), 0.1 * 0.707 * std::log(40.0) + 1, 1e-12);
  EXPECT_EQ(yarn_get_mscale(1, 0.707), 1.0);
  // Low dims (high frequency) are extrapolated unchanged; the last dims are interpolated by 40.
  const float base0 = 1.0f;
  const float base31 = 1.0f / std::pow(10000.0f, 62.0f / 64.0f);
  EXPECT_FLOAT_EQ(t.inv_freq[0], base0);
  EXPECT_NEAR(t.inv_freq[31], base31 / 40, 1e-12);
}

// Attention over scattered slots with GQA against a direct computation.
TEST(Attention, GqaOverScatteredSlotsMatchesNaive) {
  auto backend = make_cpu_backend({2, DType::kF32});
  const int n_heads = 4, n_kv = 2, hd = 8;
  const int64_t start = 3, n_new = 2, total = start + n_new;
  const int64_t num_slots = 16, row = n_kv * hd;
  const std::vector<int64_t> slots = {9, 2, 14, 5, 0};
  std::vector<float> k = random_vector(num_slots * row, 21);
  std::vector<float> v = random_vector(num_slots * row, 22);
  std::vector<float> q = random_vector(n_new * n_heads * hd, 23);
  std::vector<float> out(n_new * n_heads * hd);
  AttentionParams p;
  p.q = q.data();
  p.q_row_stride = n_heads * hd;
  p.n_tokens = n_new;
  p.n_heads = n_heads;
  p.n_kv_heads = n_kv;
  p.qk_dim = hd;
  p.v_dim = hd;
  p.start_pos = start;
  p.slots = slots;
  p.k = k.data();
  p.k_row_stride = row;
  p.v = v.data();
  p.v_row_stride = row;
  p.scale = 0.3f;
  p.out = out.data();
  p.out_row_stride = n_heads * hd;
  backend->attention(p);
  for (int64_t i = 0; i < n_new; ++i) {
    for (int h = 0; h < n_heads; ++h) {
      const int kvh = h / 2;
      std::vector<double> w;
      double mx = -1e300, sum = 0;
      for (int64_t t = 0; t <= start + i; ++t) {
        double dot = 0;
        for (int d = 0; d < hd; ++d) {
          dot += q[(i * n_heads + h) * hd + d] * k[slots[t] * row + kvh * hd + d];
        }
        w.push_back(dot * 0.3);
        mx = std::max(mx, w.back());
      }
      for (auto& s : w) sum += (s = std::exp(s - mx));
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (size_t t = 0; t < w.size(); ++t) acc += w[t] / sum * v[slots[t] * row + kvh * hd + d];
        EXPECT_NEAR(out[(i * n_heads + h) * hd + d], acc, 1e-5) << i << " " << h << " " << d;
      }
    }
  }
  (void)total;
}

TEST(Attention, RejectsTooFewSlots) {
  auto backend = make_cpu_backend({1, DType::kF32});
  std::vector<float> buf(64);
  const std::vector<int64_t> slots = {0};
  AttentionParams p;
  p.q = buf.data();
  p.n_tokens = 2;
  p.n_heads = 1;
  p.n_kv_heads = 1;
  p.qk_dim = 4;
  p.v_dim = 4;
  p.slots = slots;
  p.k = p.v = buf.data();
  p.out = buf.data();
  EXPECT_THROW(backend->attention(p), std::invalid_argument);
}

}  // namespace
}  // namespace dpserve::engine
