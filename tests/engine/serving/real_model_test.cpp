// The scheduler's invariance guarantees on a real (tiny, seeded) Llama checkpoint rather than the
// fake model: batch invariance, cache invariance and chunked == unchunked prefill, greedy.
#include "engine/model/load_model.h"
#include "engine/model/test_util.h"
#include "engine/serving/scheduler_harness.h"

#include <gtest/gtest.h>

#include <memory>

namespace dpserve::engine {
namespace {

class RealModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::make_tiny(dir_->path(), "llama", 7);
    model_ = load_model(dir_->path(), LoadOptions{}).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }

  // Greedy outputs of `requests` submitted together to a fresh scheduler.
  static std::vector<std::vector<int32_t>> run(const std::vector<GenerateRequest>& requests,
                                               SchedulerConfig config,
                                               int64_t* retractions = nullptr) {
    Scheduler scheduler(config, *model_);
    std::vector<std::vector<int32_t>> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(scheduler.add(requests[i],
                              [&out, i](const RequestOutput& o) {
                                out[i].insert(out[i].end(), o.token_ids.begin(), o.token_ids.end());
                              }),
                "");
    }
    while (scheduler.step()) {
    }
    EXPECT_EQ(scheduler.check_invariants(), "");
    if (retractions != nullptr) *retractions = scheduler.load().retractions_total;
    return out;
  }

  static GenerateRequest request(uint32_t seed, size_t len, int max_new = 8) {
    const int vocab = model_->info().vocab_size;
    std::string id = "r";  // appended: GCC 12 -Wrestrict false positive on "r" + std::string
    id += std::to_string(seed);
    return testing::make_request(id, testing::random_tokens(seed, len, vocab), max_new);
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline Model* model_ = nullptr;
};

TEST_F(RealModel, BatchInvariance) {
  const GenerateRequest probe = request(1, 40);
  const auto alone = run({probe}, testing::small_config(2048))[0];
  ASSERT_EQ(alone.size(), 8u);
  // Not a degenerate model: another prompt continues differently.
  ASSERT_NE(run({request(5, 40)}, testing::small_config(2048))[0], alone);
  std::vector<GenerateRequest> crowd;
  for (uint32_t i = 0; i < 16; ++i) crowd.push_back(request(100 + i, 10 + 3 * i, 4 + i % 9));
  crowd.insert(crowd.begin() + 7, probe);
  EXPECT_EQ(run(crowd, testing::small_config(2048))[7], alone);
}

TEST_F(RealModel, CacheInvariance) {
  const GenerateRequest r = request(2, 48);
  for (int page_size : {1, 16}) {
    auto config = testing::small_config(2048, page_size);
    GenerateRequest first = r;
    GenerateRequest second = r;
    first.id = "first";
    second.id = "second";
    // Run one after the other on the same scheduler: the second finds the prompt cached.
    Scheduler scheduler(config, *model_);
    std::vector<int32_t> a;
    std::vector<int32_t> b;
    int cached = -1;
    ASSERT_EQ(scheduler.add(first,
                            [&](const RequestOutput& o) {
                              a.insert(a.end(), o.token_ids.begin(), o.token_ids.end());
                            }),
              "");
    while (scheduler.step()) {
    }
    ASSERT_EQ(scheduler.add(second,
                            [&](const RequestOutput& o) {
                              b.insert(b.end(), o.token_ids.begin(), o.token_ids.end());
                              cached = o.cached_tokens;
                            }),
              "");
    while (scheduler.step()) {
    }
    EXPECT_EQ(a, b) << "page_size " << page_size;
    EXPECT_EQ(cached, 47 / page_size * page_size);
  }
}

TEST_F(RealModel, ChunkedPrefillEqualsUnchunked) {
  const GenerateRequest r = request(3, 100);
  auto unchunked = testing::small_config(2048);
  unchunked.chunked_prefill_size = 0;
  auto chunked = testing::small_config(2048);
  chunked.chunked_prefill_size = 24;
  EXPECT_EQ(run({r}, chunked)[0], run({r}, unchunked)[0]);
}

TEST_F(RealModel, RetractionUnderTinyKvKeepsOutputs) {
  std::vector<GenerateRequest> requests;
  for (uint32_t i = 0; i < 6; ++i) requests.push_back(request(200 + i, 24, 24));
  auto tiny = testing::small_config(96, 4);
  tiny.init_new_token_ratio = 0.05;  // optimistic admission, so decode has to retract
  tiny.min_new_token_ratio = 0.05;
  int64_t retractions = 0;
  const auto crowded = run(requests, tiny, &retractions);
  EXPECT_GT(retractions, 0);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(crowded[i], run({requests[i]}, testing::small_config(2048))[0]) << i;
  }
}

}  // namespace
}  // namespace dpserve::engine
