#include "engine/dp/dp_controller.h"

#include <stdexcept>
#include <utility>

namespace dpserve::engine {

// Per-request accounting, touched only on the owning rank's scheduler thread.
struct DpController::Tracker {
  DpController* controller;
  int rank;
  int live_samples;
  int64_t tokens;
};

DpController::DpController(std::vector<Replica> replicas, LoadBalanceMethod method)
    : replicas_(std::move(replicas)), balancer_(method), dispatched_(replicas_.size()) {
  if (replicas_.empty()) throw std::invalid_argument("DP controller needs at least one replica");
}

DpController::~DpController() {
  // Schedulers first: their shutdown aborts call back into this object and use the models.
  for (auto& replica : replicas_) replica.scheduler.reset();
}

int DpController::choose(std::optional<int> pinned) {
  if (pinned) return *pinned;
  std::lock_guard lock(mu_);
  return balancer_.pick(dispatched_);
}

std::string DpController::submit(int rank, GenerateRequest request, OutputCallback callback) {
  const int64_t prompt = static_cast<int64_t>(request.input_ids.size()) * request.n;
  auto tracker = std::make_shared<Tracker>(Tracker{this, rank, request.n, prompt});
  auto wrapped = [tracker, cb = std::move(callback)](const RequestOutput& out) {
    // Generated tokens count towards the rank's load as they appear; finished() takes the whole
    // prompt + generated total back off.
    if (const auto produced = static_cast<int64_t>(out.token_ids.size()); produced > 0) {
      tracker->tokens += produced;
      std::lock_guard lock(tracker->controller->mu_);
      tracker->controller->dispatched_[tracker->rank].tokens += produced;
    }
    if (out.finish) {
      // A request the scheduler refused late (kError) ends in one output for all its samples.
      tracker->live_samples =
          out.finish->kind == FinishKind::kError ? 0 : tracker->live_samples - 1;
    }
    // Counters drop before the output is handed on, so a client that sends its next request as
    // soon as it sees this answer is dispatched against up-to-date loads.
    if (out.finish && tracker->live_samples == 0) {
      tracker->controller->finished(tracker->rank, tracker->tokens);
    }
    if (cb) cb(out);
  };
  {
    std::lock_guard lock(mu_);
    dispatched_[rank].requests += 1;
    dispatched_[rank].tokens += prompt;
  }
  std::string error = replicas_[rank].scheduler->submit(std::move(request), std::move(wrapped));
  if (!error.empty()) finished(rank, prompt);
  return error;
}

void DpController::finished(int rank, int64_t tokens) {
  std::lock_guard lock(mu_);
  dispatched_[rank].requests -= 1;
  dispatched_[rank].tokens -= tokens;
}

void DpController::abort(const std::string& id) {
  for (auto& replica : replicas_) replica.scheduler->abort(id);
}

bool DpController::flush_cache() {
  bool all = true;
  for (auto& replica : replicas_) all = replica.scheduler->flush_cache() && all;
  return all;
}

std::vector<SchedulerLoad> DpController::scheduler_loads() const {
  std::vector<SchedulerLoad> loads;
  for (const auto& replica : replicas_) loads.push_back(replica.scheduler->load());
  return loads;
}

std::vector<RankLoad> DpController::dispatched_loads() const {
  std::lock_guard lock(mu_);
  return dispatched_;
}

}  // namespace dpserve::engine
