#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace dpserve::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreInclusiveUpperBounds) {
  const std::vector<double> bounds = {0.1, 1, 10};
  Histogram h(bounds);
  for (double v : {0.05, 0.1, 0.5, 1.0, 20.0}) h.observe(v);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 2, 0, 1}));
  EXPECT_DOUBLE_EQ(h.sum(), 21.65);
  TextWriter w;
  w.family("x_seconds", "histogram", "test");
  w.histogram("x_seconds", label("path", "/a"), h);
  const std::string text = w.take();
  EXPECT_NE(text.find("# TYPE x_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{path=\"/a\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{path=\"/a\",le=\"1\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{path=\"/a\",le=\"10\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_bucket{path=\"/a\",le=\"+Inf\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_count{path=\"/a\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_seconds_sum{path=\"/a\"} 21.65\n"), std::string::npos) << text;
}

TEST(Metrics, RejectsUnsortedBounds) {
  const std::vector<double> bad = {1, 1};
  EXPECT_THROW(Histogram{bad}, std::invalid_argument);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(label("worker", "a\"b\\c\nd"), "worker=\"a\\\"b\\\\c\\nd\"");
  TextWriter w;
  w.sample("up", "", 1);
  w.sample("load", label("w", "x"), 2.5);
  EXPECT_EQ(w.take(), "up 1\nload{w=\"x\"} 2.5\n");
}

TEST(Metrics, CountersAreExactUnderConcurrency) {
  Counter c;
  const std::vector<double> bounds = {1};
  Histogram h(bounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.counts()[0], 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000);
}

}  // namespace
}  // namespace dpserve::metrics
