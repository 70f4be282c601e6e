// Native data parallelism (engine-internals.md §1): N independent replicas in one process, each
// with its own model runner, scheduler thread, KV pool and radix cache, behind one dispatcher.
// Generation requests go to one rank (pinned, or chosen by the load-balance method); control
// messages (abort, flush) reach every rank; loads are reported per rank.
#pragma once

#include "engine/dp/load_balance.h"
#include "engine/forward.h"
#include "engine/sched/scheduler_thread.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

class DpController {
 public:
  struct Replica {
    std::unique_ptr<Model> model;
    std::unique_ptr<SchedulerThread> scheduler;
  };

  // Takes ownership of the replicas (at least one).
  DpController(std::vector<Replica> replicas, LoadBalanceMethod method);
  // Stops every scheduler (live requests finish with "abort") before the models go away.
  ~DpController();
  DpController(const DpController&) = delete;
  DpController& operator=(const DpController&) = delete;

  int dp_size() const { return static_cast<int>(replicas_.size()); }
  LoadBalanceMethod method() const { return balancer_.method(); }

  // The rank for a new request: `pinned` when given (the caller checks it is in range), else the
  // load-balance method's choice.
  int choose(std::optional<int> pinned);
  // Queues `request` on `rank`. A non-empty return is a client error (400); nothing was queued.
  std::string submit(int rank, GenerateRequest request, OutputCallback callback);
  // Ends request `id` wherever it runs (unknown ids are ignored).
  void abort(const std::string& id);
  // Empties every rank's prefix cache; false when some rank refused (requests in flight).
  bool flush_cache();

  std::vector<SchedulerLoad> scheduler_loads() const;
  // Per rank: requests dispatched and not finished, and their prompt + generated tokens.
  std::vector<RankLoad> dispatched_loads() const;
  const SchedulerThread& scheduler(int rank) const { return *replicas_[rank].scheduler; }
  const ModelInfo& model_info() const { return replicas_[0].scheduler->model_info(); }

 private:
  struct Tracker;
  void finished(int rank, int64_t tokens);

  std::vector<Replica> replicas_;
  mutable std::mutex mu_;  // guards balancer_ and dispatched_
  LoadBalancer balancer_;
  std::vector<RankLoad> dispatched_;
};

}  // namespace dpserve::engine
