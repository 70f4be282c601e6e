#include "router/registry.h"

#include "router/config.h"

#include <gtest/gtest.h>

#include <thread>

namespace dpserve::router {
namespace {

class CountingPolicy : public Policy {
 public:
  std::string_view name() const override { return "counting"; }
  std::optional<size_t> select(std::span<const WorkerPtr>, const RouteRequest&) override {
    return 0;
  }
  void on_worker_added(const Worker&) override { ++added; }
  void on_worker_removed(const Worker&) override { ++removed; }
  int added = 0;
  int removed = 0;
};

std::shared_ptr<WorkerEntry> entry(const std::string& id, const std::string& url,
                                   const std::string& model) {
  auto e = std::make_shared<WorkerEntry>();
  e->worker = std::make_shared<Worker>(id, url, url, std::nullopt, model);
  std::string error;
  e->endpoint = *http::parse_endpoint(url, error);
  e->base_url = url;
  return e;
}

TEST(Registry, GroupsByModelAndPublishesSnapshots) {
  CountingPolicy policy;
  WorkerRegistry registry(policy);
  EXPECT_TRUE(registry.current().groups.empty());
  ASSERT_TRUE(registry.add({entry("1", "http://h:1", "m1")}));
  ASSERT_TRUE(registry.add({entry("2", "http://h:2", "m2"), entry("3", "http://h:3", "m1")}));
  EXPECT_FALSE(registry.add({entry("4", "http://h:1", "m1")}));  // duplicate URL
  const auto& snapshot = registry.current();
  EXPECT_EQ(snapshot.entries.size(), 3u);
  ASSERT_EQ(snapshot.groups.size(), 2u);
  EXPECT_EQ(snapshot.find("m1")->workers.size(), 2u);
  EXPECT_EQ(snapshot.find("m2")->workers.size(), 1u);
  EXPECT_EQ(snapshot.find(""), nullptr);  // two models: the request must say which
  EXPECT_EQ(policy.added, 3);
  auto held = registry.shared();
  EXPECT_NE(registry.remove("1"), nullptr);
  EXPECT_EQ(registry.remove("1"), nullptr);
  EXPECT_EQ(policy.removed, 1);
  EXPECT_EQ(registry.current().entries.size(), 2u);
  EXPECT_EQ(held->entries.size(), 3u);  // old snapshots stay valid for their holders
  EXPECT_EQ(registry.find("2")->worker->url(), "http://h:2");
  EXPECT_EQ(registry.find_url("http://h:3").size(), 1u);
  registry.remove("2");
  EXPECT_EQ(registry.current().find("anything")->model, "m1");  // one model left: it serves all
}

TEST(Registry, ReadersOnOtherThreadsSeeUpdates) {
  CountingPolicy policy;
  WorkerRegistry registry(policy);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    size_t last = 0;
    while (!stop) {
      size_t n = registry.current().entries.size();
      EXPECT_GE(n, last);  // only additions in this test
      last = n;
    }
  });
  for (int i = 1; i <= 50; ++i) {
    registry.add({entry(std::to_string(i), "http://h:" + std::to_string(i), "m")});
  }
  stop = true;
  reader.join();
  EXPECT_EQ(registry.current().entries.size(), 50u);
}

TEST(Registry, UuidsLookRight) {
  auto id = make_uuid();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(make_uuid(), id);
}

ParseOutcome parse(std::vector<std::string> args, RouterConfig& config) {
  args.insert(args.begin(), "router");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_router_config(static_cast<int>(argv.size()), argv.data(), config);
}

TEST(Config, DefaultsAndValues) {
  RouterConfig config;
  auto outcome = parse({}, config);
  ASSERT_TRUE(outcome.run) << outcome.message;
  EXPECT_EQ(config.host, "127.0.0.1");
  EXPECT_EQ(config.port, 30000);
  EXPECT_EQ(config.policy.name, "cache_aware");
  EXPECT_GE(config.threads, 1);
  RouterConfig set;
  outcome = parse({"--worker-urls", "http://a:1", "http://b:2", "--policy", "power_of_two",
                   "--api-key", "k", "--dp-aware", "--request-timeout-secs", "5",
                   "--max-payload-size", "100", "--log-level", "debug", "--port", "0"},
                  set);
  ASSERT_TRUE(outcome.run) << outcome.message;
  EXPECT_EQ(set.worker_urls.size(), 2u);
  EXPECT_EQ(set.policy.name, "power_of_two");
  EXPECT_TRUE(set.dp_aware);
  EXPECT_EQ(set.request_timeout_secs, 5);
  EXPECT_EQ(set.max_payload_size, 100);
}

TEST(Config, ErrorsNameTheFlag) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--bogus"}, "--bogus"},
      {{"--policy", "nope"}, "--policy"},
      {{"--port", "-1"}, "--port"},
      {{"--threads", "-2"}, "--threads"},
      {{"--worker-urls", "http://h"}, ""},  // valid: port defaults to 80
      {{"--worker-urls", "http://h:0"}, "--worker-urls"},
      {{"--api-key", "a\nb"}, "--api-key"},
      {{"--policy", "cache_aware", "--balance-rel-threshold", "0.5"}, "--balance-rel-threshold"},
  };
  for (const auto& [args, flag] : cases) {
    RouterConfig config;
    auto outcome = parse(args, config);
    if (flag.empty()) {
      EXPECT_TRUE(outcome.run) << outcome.message;
      continue;
    }
    EXPECT_FALSE(outcome.run) << flag;
    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_NE(outcome.message.find(flag), std::string::npos) << outcome.message;
  }
}

}  // namespace
}  // namespace dpserve::router
