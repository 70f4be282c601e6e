#include "router/policies/bucket.h"

#include "router/policies/factory.h"
#include "unit/policies/test_workers.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace dpserve::router::policies {
namespace {

using router::testing::make_workers;
using router::testing::set_load;
using Clock = Periodic::Clock;

struct FakeClock {
  Clock::time_point now{};
  BucketPolicy::NowFn fn() {
    return [this] { return now; };
  }
};

PolicyConfig config() {
  PolicyConfig c;
  c.name = "bucket";
  c.seed = 5;
  c.bucket_adjust_interval_secs = 5;
  return c;
}

RouteRequest request_of_length(const std::string& storage) {
  RouteRequest r;
  r.model = "m";
  r.text = storage;
  r.prompt_size = static_cast<int64_t>(storage.size());
  return r;
}

size_t route(BucketPolicy& p, std::span<const WorkerPtr> workers, size_t length) {
  const std::string text(length, 'x');
  return *p.select(workers, request_of_length(text));
}

TEST(Bucket, FactoryBuildsItAndRejectsBadInterval) {
  EXPECT_EQ(make_policy(config())->name(), "bucket");
  PolicyConfig c = config();
  c.bucket_adjust_interval_secs = 0;
  EXPECT_THROW(make_policy(c), std::invalid_argument);
}

TEST(Bucket, InitialRangesSplit4096EvenlyWithOpenLastRange) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(4);
  EXPECT_EQ(route(p, workers, 0), 0u);
  EXPECT_EQ(route(p, workers, 1023), 0u);
  EXPECT_EQ(route(p, workers, 1024), 1u);
  EXPECT_EQ(route(p, workers, 2047), 1u);
  EXPECT_EQ(route(p, workers, 2048), 2u);
  EXPECT_EQ(route(p, workers, 3072), 3u);
  EXPECT_EQ(route(p, workers, 100000), 3u);
  auto r = p.ranges("m");
  EXPECT_EQ(r.members, (std::vector<std::string>{"w0", "w1", "w2", "w3"}));
  EXPECT_EQ(r.upper, (std::vector<int64_t>{1024, 2048, 3072}));
}

TEST(Bucket, LengthIsCountedInCharactersOrIds) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "\xC3\xA9";  // 2000 characters, 4000 bytes
  EXPECT_EQ(*p.select(workers, request_of_length(text)), 0u);
  std::vector<int32_t> ids(3000, 7);
  RouteRequest r;
  r.model = "m";
  r.token_ids = ids;
  EXPECT_EQ(*p.select(workers, r), 1u);
}

TEST(Bucket, UnavailableRangeOwnerFallsBackToLeastLoaded) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(3);
  route(p, workers, 10);  // learns all three members
  std::vector<WorkerPtr> available{workers[1], workers[2]};
  set_load(*workers[1], 2, 0);
  set_load(*workers[2], 1, 0);
  EXPECT_EQ(route(p, available, 10), 1u);  // w0's range; w2 is the least loaded
}

TEST(Bucket, ImbalanceOverridesTheRange) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  set_load(*workers[0], 43, 0);
  set_load(*workers[1], 10, 0);
  EXPECT_EQ(route(p, workers, 10), 1u);
  set_load(*workers[0], 42, 0);  // gap 32: not imbalanced
  EXPECT_EQ(route(p, workers, 10), 0u);
}

TEST(Bucket, RecutBalancesWindowedCharacters) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  p.tick(clock.now);
  for (size_t len = 1; len <= 100; ++len) EXPECT_EQ(route(p, workers, len), 0u);
  clock.now += std::chrono::seconds(4);
  p.tick(clock.now);  // interval not reached yet
  EXPECT_EQ(p.ranges("m").upper, (std::vector<int64_t>{2048}));
  clock.now += std::chrono::seconds(1);
  p.tick(clock.now);
  // 1 + ... + 71 = 2556 >= 5050 / 2: lengths up to 71 stay on w0.
  EXPECT_EQ(p.ranges("m").upper, (std::vector<int64_t>{72}));
  EXPECT_EQ(route(p, workers, 71), 0u);
  EXPECT_EQ(route(p, workers, 72), 1u);
  EXPECT_EQ(p.stats()["models"]["m"]["recuts"], 1);
}

TEST(Bucket, RecutSkippedWhileLoadWithinFactorTwo) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  p.tick(clock.now);
  route(p, workers, 1000);  // w0: 1000
  route(p, workers, 3000);  // w1: 3000 -> 3x: re-cut
  route(p, workers, 1900);  // w0: 2900 -> 3000 < 2 * 2900: keep
  clock.now += std::chrono::seconds(5);
  p.tick(clock.now);
  EXPECT_EQ(p.ranges("m").upper, (std::vector<int64_t>{2048}));
  EXPECT_EQ(p.stats()["models"]["m"]["recuts"], 0);
}

TEST(Bucket, WindowForgetsOldRequests) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  p.tick(clock.now);
  for (int i = 0; i < 10; ++i) route(p, workers, 10);
  clock.now += std::chrono::seconds(6);
  route(p, workers, 3000);  // the window now holds only this one
  EXPECT_EQ(p.stats()["models"]["m"]["window_requests"], 1);
  p.tick(clock.now);  // w0 idle in the window, w1 busy -> re-cut from the window: one length
  EXPECT_EQ(p.ranges("m").upper, (std::vector<int64_t>{3001}));
}

TEST(Bucket, RemovedWorkerResplitsEvenly) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(3);
  route(p, workers, 10);
  p.on_worker_removed(*workers[1]);
  auto r = p.ranges("m");
  EXPECT_EQ(r.members, (std::vector<std::string>{"w0", "w2"}));
  EXPECT_EQ(r.upper, (std::vector<int64_t>{2048}));
  std::vector<WorkerPtr> left{workers[0], workers[2]};
  EXPECT_EQ(route(p, left, 3000), 1u);
}

TEST(Bucket, StatsAndResetKeepRangesReadable) {
  FakeClock clock;
  BucketPolicy p(config(), clock.fn());
  auto workers = make_workers(2);
  route(p, workers, 10);
  route(p, workers, 3000);
  auto s = p.stats();
  EXPECT_EQ(s["policy"], "bucket");
  const auto& ranges = s["models"]["m"]["ranges"];
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0]["worker"], "w0");
  EXPECT_EQ(ranges[0]["min_length"], 0);
  EXPECT_EQ(ranges[0]["max_length"], 2047);
  EXPECT_EQ(ranges[0]["window_units"], 10);
  EXPECT_TRUE(ranges[1]["max_length"].is_null());
  p.reset();
  EXPECT_EQ(p.stats()["models"]["m"]["window_requests"], 0);
}

}  // namespace
}  // namespace dpserve::router::policies
