// Runs one Scheduler (one DP rank) on its own thread. Front-end threads submit requests and aborts
// through a queue and read load snapshots; outputs come back through each request's callback, which
// runs on this thread and must not block.
#pragma once

#include "engine/sched/scheduler.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace dpserve::engine {

class SchedulerThread {
 public:
  // The model must outlive this object. Throws std::invalid_argument on a bad config.
  SchedulerThread(const SchedulerConfig& config, Model& model);
  // Aborts whatever is still live (callbacks see finish "abort") and joins the thread.
  ~SchedulerThread();
  SchedulerThread(const SchedulerThread&) = delete;
  SchedulerThread& operator=(const SchedulerThread&) = delete;

  // Validates and queues. A non-empty return is a client error (400) and nothing was queued. Errors
  // found later (a duplicate live id) arrive as a final output with FinishKind::kError.
  std::string submit(GenerateRequest request, OutputCallback callback);
  // Finishes request `id` with an abort (client disconnected, /abort_request). Unknown ids: no-op.
  void abort(const std::string& id);
  // Empties the prefix cache if nothing is queued or running; blocks until the loop has answered,
  // so never call it from an output callback (that would wait on itself).
  bool flush_cache();
  SchedulerLoad load() const;

  int64_t max_total_tokens() const { return scheduler_.max_total_tokens(); }
  int context_length() const { return scheduler_.context_length(); }
  const ModelInfo& model_info() const { return scheduler_.model_info(); }

 private:
  void run();
  // Copies the scheduler's load into load_ (scheduler thread only).
  void publish_load();

  Scheduler scheduler_;  // touched only by the loop thread, except its const config accessors
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> inbox_;  // commands, run on the loop thread
  SchedulerLoad load_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dpserve::engine
