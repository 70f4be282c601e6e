#include "engine/sched/scheduler_thread.h"

#include "engine/serving/scheduler_harness.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace dpserve::engine {
namespace {

using testing::make_request;
using testing::random_tokens;
using testing::small_config;

// Collects outputs from the scheduler thread; waits (with a timeout, never a blind sleep) for
// requests to finish.
class Sink {
 public:
  OutputCallback callback() {
    return [this](const RequestOutput& out) {
      std::lock_guard lock(mu_);
      auto& tokens = tokens_[{out.id, out.index}];
      tokens.insert(tokens.end(), out.token_ids.begin(), out.token_ids.end());
      if (out.finish) {
        finish_[{out.id, out.index}] = *out.finish;
        cv_.notify_all();
      }
    };
  }
  bool wait_finished(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return finish_.size() >= n; });
  }
  std::vector<int32_t> tokens(const std::string& id, int index = 0) {
    std::lock_guard lock(mu_);
    return tokens_[{id, index}];
  }
  FinishReason finish(const std::string& id, int index = 0) {
    std::lock_guard lock(mu_);
    return finish_[{id, index}];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, int>, std::vector<int32_t>> tokens_;
  std::map<std::pair<std::string, int>, FinishReason> finish_;
};

std::string rid(int t, int i) {
  std::string id = "t";
  id += std::to_string(t);
  id += '-';
  id += std::to_string(i);
  return id;
}

TEST(SchedulerThread, ConcurrentSubmittersGetTheSameOutputsAsAlone) {
  testing::FakeModel model;
  Sink sink;
  SchedulerThread engine(small_config(), model);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto r =
            make_request(rid(t, i), random_tokens(static_cast<uint32_t>(t * 10 + i), 25), 12, 0.8f);
        EXPECT_EQ(engine.submit(r, sink.callback()), "");
      }
    });
  }
  for (auto& c : clients) c.join();
  ASSERT_TRUE(sink.wait_finished(16));
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 4; ++i) {
      auto r =
          make_request(rid(t, i), random_tokens(static_cast<uint32_t>(t * 10 + i), 25), 12, 0.8f);
      EXPECT_EQ(sink.tokens(rid(t, i)), testing::run_alone(r).tokens);
    }
  }
  EXPECT_EQ(model.bad_reads.load(), 0);
  // load() is a snapshot published after each step, and the last finish callback runs inside
  // that step: read it after a command that the scheduler thread answers (flush_cache publishes
  // the load before answering), not right after the callbacks.
  EXPECT_TRUE(engine.flush_cache());
  const SchedulerLoad l = engine.load();
  EXPECT_EQ(l.generation_tokens_total, 16 * 12);
  EXPECT_EQ(l.num_running + l.num_waiting, 0);
  EXPECT_EQ(l.cached_tokens_in_tree, 0);
}

TEST(SchedulerThread, ValidationErrorsAreSynchronousDuplicatesAsync) {
  testing::FakeModel model;
  Sink sink;
  SchedulerThread engine(small_config(), model);
  EXPECT_NE(engine.submit(make_request("bad", {}, 4), sink.callback()), "");
  auto long_one = make_request("dup", random_tokens(1, 5), 4000);
  ASSERT_EQ(engine.submit(long_one, sink.callback()), "");
  ASSERT_EQ(engine.submit(make_request("dup", random_tokens(1, 5), 4), sink.callback()), "");
  engine.abort("dup");
  ASSERT_TRUE(sink.wait_finished(1));
  // Whichever arrived second was refused or both were ended; none is left hanging.
  EXPECT_TRUE(sink.finish("dup").kind == FinishKind::kError ||
              sink.finish("dup").kind == FinishKind::kAbort);
}

TEST(SchedulerThread, AbortFromTheCallbackStopsGeneration) {
  testing::FakeModel model;
  Sink sink;
  auto inner = sink.callback();
  SchedulerThread engine(small_config(), model);
  OutputCallback cb = [&](const RequestOutput& out) {
    inner(out);
    if (out.completion_tokens == 3 && !out.finish) engine.abort(out.id);
  };
  ASSERT_EQ(engine.submit(make_request("long", random_tokens(2, 10), 2000), cb), "");
  ASSERT_TRUE(sink.wait_finished(1));
  EXPECT_EQ(sink.finish("long").kind, FinishKind::kAbort);
  EXPECT_LT(sink.tokens("long").size(), 10u);
}

TEST(SchedulerThread, ShutdownAbortsLiveRequests) {
  testing::FakeModel model;
  Sink sink;
  {
    auto config = small_config();
    config.max_running_requests = 1;
    SchedulerThread engine(config, model);
    ASSERT_EQ(engine.submit(make_request("a", random_tokens(2, 10), 3000), sink.callback()), "");
    ASSERT_EQ(engine.submit(make_request("b", random_tokens(3, 10), 3000), sink.callback()), "");
  }
  ASSERT_TRUE(sink.wait_finished(2));
}

}  // namespace
}  // namespace dpserve::engine
