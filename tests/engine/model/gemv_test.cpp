// The decode GEMV kernels against a double-precision reference, for every instruction set this CPU
// has, every row count they accept, and shapes whose `in` and `out` leave vector and row-block
// tails.
#include "engine/ops/gemv.h"

#include "engine/model/test_util.h"
#include "engine/ops/backend.h"
#include "engine/ops/thread_pool.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

namespace dpserve::engine {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> round_to_bf16(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = bf16_to_f32(f32_to_bf16(v[i]));
  return r;
}

std::vector<float> reference(const std::vector<float>& x, int64_t m, const std::vector<float>& w,
                             int64_t out, int64_t in) {
  std::vector<float> y(m * out);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0;
      for (int64_t k = 0; k < in; ++k) acc += double{x[i * in + k]} * w[o * in + k];
      y[i * out + o] = static_cast<float>(acc);
    }
  }
  return y;
}

const GemvIsa kAllIsas[] = {GemvIsa::kGeneric, GemvIsa::kAvx512, GemvIsa::kAvx512Bf16};

// (isa, m, out, in, threads)
using Shape = std::tuple<GemvIsa, int64_t, int64_t, int64_t, int>;

class GemvTest : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    std::tie(isa_, m_, out_, in_, threads_) = GetParam();
    if (!gemv_isa_supported(isa_)) GTEST_SKIP() << gemv_isa_name(isa_) << " not on this CPU";
  }
  GemvIsa isa_;
  int64_t m_, out_, in_;
  int threads_;
};

TEST_P(GemvTest, Bf16WeightsMatchReference) {
  ThreadPool pool(threads_);
  GemvScratch scratch;
  const auto x = random_values(m_ * in_, 1);
  const auto w_exact = random_values(out_ * in_, 2);
  std::vector<uint16_t> w(w_exact.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(w_exact[i]);
  const auto w_rounded = round_to_bf16(w_exact);
  std::vector<float> y(m_ * out_, NAN);
  gemv_bf16(isa_, x.data(), m_, w.data(), out_, in_, y.data(), pool, scratch);
  // The dot products themselves are exact up to f32 accumulation; only the inputs are rounded.
  // vdpbf16ps rounds activations to bf16, the other paths keep them in f32.
  const auto x_used = isa_ == GemvIsa::kAvx512Bf16 ? round_to_bf16(x) : x;
  EXPECT_LT(testing::relative_error(y, reference(x_used, m_, w_rounded, out_, in_)), 2e-6);
  // Against unrounded weights and activations: bf16's 8-bit mantissa, summed over `in` terms.
  EXPECT_LT(testing::relative_error(y, reference(x, m_, w_exact, out_, in_)), 1e-2);
}

// vdpbf16ps takes bf16 weights only, so f32 weights run on the f32 FMA kernels.
class GemvF32Test : public GemvTest {};

TEST_P(GemvF32Test, F32WeightsMatchReference) {
  ThreadPool pool(threads_);
  const auto x = random_values(m_ * in_, 3);
  const auto w = random_values(out_ * in_, 4);
  std::vector<float> y(m_ * out_, NAN);
  gemv_f32(isa_, x.data(), m_, w.data(), out_, in_, y.data(), pool);
  EXPECT_LT(testing::relative_error(y, reference(x, m_, w, out_, in_)), 2e-6);
}

std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  return std::string(gemv_isa_name(std::get<0>(p.param))) + "_m" +
         std::to_string(std::get<1>(p.param)) + "_out" + std::to_string(std::get<2>(p.param)) +
         "_in" + std::to_string(std::get<3>(p.param)) + "_t" + std::to_string(std::get<4>(p.param));
}

// in: below one vector, vector tails for 16 and 32 lanes, exact multiples; out: row-block tails
// and enough rows (out * in above the per-task minimum) to split over the threads.
INSTANTIATE_TEST_SUITE_P(Shapes, GemvTest,
                         ::testing::Combine(::testing::ValuesIn(kAllIsas),
                                            ::testing::Values(1, 2, 3, 4),
                                            ::testing::Values(1, 7, 37),
                                            ::testing::Values(5, 80, 96, 1000),
                                            ::testing::Values(1, 3)),
                         shape_name);
INSTANTIATE_TEST_SUITE_P(Shapes, GemvF32Test,
                         ::testing::Combine(::testing::Values(GemvIsa::kGeneric, GemvIsa::kAvx512),
                                            ::testing::Values(1, 2, 3, 4),
                                            ::testing::Values(1, 7, 37),
                                            ::testing::Values(5, 80, 96, 1000),
                                            ::testing::Values(1, 3)),
                         shape_name);

TEST(Gemv, LargeSplitOverThreadsMatchesSingleThread) {
  // Big enough that every thread gets rows; the split must not change any result bit.
  const int64_t out = 1030, in = 2048 + 7;
  const auto x = random_values(in, 5);
  const auto wf = random_values(out * in, 6);
  std::vector<uint16_t> w(wf.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(wf[i]);
  for (GemvIsa isa : kAllIsas) {
    if (!gemv_isa_supported(isa)) continue;
    ThreadPool one(1), four(4);
    GemvScratch scratch;
    std::vector<float> a(out), b(out);
    gemv_bf16(isa, x.data(), 1, w.data(), out, in, a.data(), one, scratch);
    gemv_bf16(isa, x.data(), 1, w.data(), out, in, b.data(), four, scratch);
    EXPECT_EQ(a, b) << gemv_isa_name(isa);
  }
}

TEST(Gemv, RejectsBadRowCounts) {
  ThreadPool pool(1);
  GemvScratch scratch;
  std::vector<float> x(5 * 8), y(5 * 8);
  std::vector<uint16_t> w(8 * 8);
  EXPECT_THROW(gemv_bf16(GemvIsa::kGeneric, x.data(), 5, w.data(), 8, 8, y.data(), pool, scratch),
               std::invalid_argument);
  EXPECT_THROW(gemv_bf16(GemvIsa::kGeneric, x.data(), 0, w.data(), 8, 8, y.data(), pool, scratch),
               std::invalid_argument);
}

}  // namespace
}  // namespace dpserve::engine
