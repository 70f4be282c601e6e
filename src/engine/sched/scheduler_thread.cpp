#include "engine/sched/scheduler_thread.h"

#include <future>
#include <utility>

namespace dpserve::engine {

SchedulerThread::SchedulerThread(const SchedulerConfig& config, Model& model)
    : scheduler_(config, model), load_(scheduler_.load()), thread_([this] { run(); }) {}

SchedulerThread::~SchedulerThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::string SchedulerThread::submit(GenerateRequest request, OutputCallback callback) {
  // validate() reads only immutable state, so it is safe here and lets the caller answer 400 now.
  if (std::string error = scheduler_.validate(request); !error.empty()) return error;
  auto command = [this, r = std::move(request), cb = std::move(callback)]() mutable {
    const std::string id = r.id;
    OutputCallback keep = cb;
    std::string error = scheduler_.add(std::move(r), std::move(cb));
    if (!error.empty() && keep) {
      RequestOutput out;
      out.id = id;
      out.finish = FinishReason{FinishKind::kError, {}, {}, error};
      out.arrival_time = out.time = Clock::now();
      keep(out);
    }
  };
  {
    std::lock_guard lock(mu_);
    inbox_.push_back(std::move(command));
  }
  cv_.notify_one();
  return {};
}

void SchedulerThread::abort(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    inbox_.push_back([this, id] { scheduler_.abort(id, "aborted by client"); });
  }
  cv_.notify_one();
}

bool SchedulerThread::flush_cache() {
  std::promise<bool> done;
  std::future<bool> result = done.get_future();
  {
    std::lock_guard lock(mu_);
    // The load is published before the answer, so that load() right after a flush sees it (it
    // was published only after the next step, and a caller could read the tree still full).
    inbox_.push_back([this, &done] {
      const bool flushed = scheduler_.flush_cache();
      publish_load();
      done.set_value(flushed);
    });
  }
  cv_.notify_one();
  return result.get();
}

SchedulerLoad SchedulerThread::load() const {
  std::lock_guard lock(mu_);
  return load_;
}

void SchedulerThread::publish_load() {
  SchedulerLoad snapshot = scheduler_.load();
  std::lock_guard lock(mu_);
  load_ = snapshot;
}

void SchedulerThread::run() {
  bool busy = false;
  for (;;) {
    std::deque<std::function<void()>> commands;
    {
      std::unique_lock lock(mu_);
      if (!busy) cv_.wait(lock, [&] { return stop_ || !inbox_.empty(); });
      if (stop_) break;
      commands.swap(inbox_);
    }
    for (auto& command : commands) command();
    busy = scheduler_.step();
    publish_load();
  }
  // Run what was queued before the stop (answers flush_cache callers), then end every request.
  std::deque<std::function<void()>> commands;
  {
    std::lock_guard lock(mu_);
    commands.swap(inbox_);
  }
  for (auto& command : commands) command();
  scheduler_.abort_all("server shutting down");
}

}  // namespace dpserve::engine
