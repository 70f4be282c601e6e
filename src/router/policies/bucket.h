// bucket: route by request length so each worker serves one length range (router-spec.md §3.6).
// Ranges start as an even split of [0, 4096) with the last one open-ended, and are re-cut every
// --bucket-adjust-interval-secs from the request lengths of a sliding window of that length, so
// every worker gets about the same number of characters. Load escape as in cache_aware: when the
// fleet is imbalanced, or the range's worker is unavailable, the least-loaded worker is used.
// User doc: docs/policies.md.
#pragma once

#include "router/policies/periodic.h"
#include "router/policies/rng.h"
#include "router/policy.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace dpserve::router::policies {

class BucketPolicy final : public Policy, public Periodic {
 public:
  static constexpr int64_t kInitialMaxLength = 4096;
  using NowFn = std::function<Clock::time_point()>;

  // `now` stamps the sliding window; tests inject a fake clock.
  explicit BucketPolicy(const PolicyConfig& config, NowFn now = &Clock::now);

  std::string_view name() const override { return "bucket"; }
  std::optional<size_t> select(std::span<const WorkerPtr> workers,
                               const RouteRequest& request) override;
  void on_worker_removed(const Worker& worker) override;
  nlohmann::json stats() const override;
  void reset() override;
  // Re-cuts each model's ranges once per --bucket-adjust-interval-secs.
  void tick(Clock::time_point now) override;

  // Worker id owning each range, and the exclusive upper bounds of all ranges but the last.
  struct Ranges {
    std::vector<std::string> members;
    std::vector<int64_t> upper;
  };
  Ranges ranges(std::string_view model) const;

 private:
  struct Entry {
    Clock::time_point at;
    int64_t units;
    std::string worker;
  };
  struct ModelState {
    mutable std::mutex mu;
    std::vector<std::string> members;  // sorted; range k belongs to members[k]
    std::vector<int64_t> upper;        // size members - 1
    std::deque<Entry> window;
    std::map<std::string, int64_t, std::less<>> window_units;
    int64_t recuts = 0;
  };

  ModelState& state_for(std::string_view model);
  void expire_locked(ModelState& s, Clock::time_point now) const;
  static void split_evenly_locked(ModelState& s);
  void recut_locked(ModelState& s);

  const PolicyConfig config_;
  const NowFn now_;
  SharedRng rng_;
  mutable std::shared_mutex states_mu_;
  std::map<std::string, std::unique_ptr<ModelState>, std::less<>> states_;
  std::mutex tick_mu_;
  std::optional<Clock::time_point> last_recut_;
};

}  // namespace dpserve::router::policies
