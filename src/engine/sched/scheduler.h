// Continuous batching for one DP rank (engine-internals.md §6.4): a waiting queue, admission
// against free + evictable KV minus the running requests' reservations, chunked prefill, decode,
// retraction when decode runs out of KV, and aborts. Single-threaded; SchedulerThread drives it
// from its own thread. The loop is specified in docs/design/scheduler.md.
#pragma once

#include "engine/forward.h"
#include "engine/kv/kv_manager.h"
#include "engine/sched/request.h"
#include "engine/sched/scheduler_config.h"
#include "engine/sched/sequence.h"

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dpserve::engine {

// Counters readable as one consistent snapshot (for /get_load, /metrics, /get_server_info).
struct SchedulerLoad {
  int num_running = 0;  // sequences holding KV (decoding or mid-prefill)
  int num_waiting = 0;
  int64_t num_used_tokens = 0;  // KV that cannot be reclaimed now
  int64_t max_total_tokens = 0;
  int64_t cached_tokens_in_tree = 0;
  double token_usage = 0;                  // num_used_tokens / max_total_tokens
  int64_t prompt_tokens_total = 0;         // prompt tokens of admitted requests
  int64_t cached_prompt_tokens_total = 0;  // of which served from the prefix cache
  int64_t generation_tokens_total = 0;
  int64_t retractions_total = 0;
  double cache_hit_rate() const {
    return prompt_tokens_total == 0 ? 0.0
                                    : static_cast<double>(cached_prompt_tokens_total) /
                                          static_cast<double>(prompt_tokens_total);
  }
};

// Not thread-safe, and not re-entrant: output callbacks must not call back into the scheduler
// (SchedulerThread queues such calls for between steps).
class Scheduler {
 public:
  // The model must outlive the scheduler. Throws std::invalid_argument on a bad config.
  Scheduler(const SchedulerConfig& config, Model& model);

  // Static checks only (sizes, sampling params): safe to call from any thread. Empty when valid.
  std::string validate(const GenerateRequest& request) const;
  // Queues a request; on a validation error or duplicate id, returns why and queues nothing.
  std::string add(GenerateRequest request, OutputCallback callback);
  // Finishes every sample of request `id` with an abort, wherever it is. False if unknown.
  bool abort(const std::string& id, const std::string& why = "aborted");
  void abort_all(const std::string& why);
  // Runs one prefill or decode batch. False when there was nothing to do.
  bool step();
  bool idle() const { return waiting_.empty() && running_.empty() && !chunked_; }
  // Empties the prefix cache; refused while any request is queued or running.
  bool flush_cache();

  SchedulerLoad load() const;
  int context_length() const { return context_length_; }
  int64_t max_total_tokens() const { return kv_.total_tokens(); }
  const ModelInfo& model_info() const { return model_.info(); }
  // Empty when all KV accounting holds (tests).
  std::string check_invariants() const;

 private:
  using SeqPtr = std::unique_ptr<Sequence>;
  struct Chunk {
    Sequence* seq;
    int64_t len;
  };

  std::vector<Chunk> schedule_prefill();
  void run_prefill(const std::vector<Chunk>& batch);
  void run_decode();
  bool make_room_for_decode();
  void retract(Sequence* seq);
  void order_waiting();
  int64_t reservation(const Sequence& seq) const;
  bool shares_uncached_prefix(const Sequence& seq, const std::vector<Chunk>& batch);
  bool admit(Sequence& seq, int64_t& budget, int64_t& reserved, std::vector<Chunk>& batch);
  void forward(const std::vector<Chunk>& batch);
  void append_token(Sequence& seq, int row);
  std::optional<FinishReason> stop_reason(const Sequence& seq) const;
  void emit(Sequence& seq, std::optional<FinishReason> finish);
  void finish(Sequence* seq, FinishReason reason);
  SeqPtr detach(Sequence* seq);

  SchedulerConfig config_;
  Model& model_;
  int context_length_;
  KvManager kv_;
  KvStorage storage_;
  std::deque<SeqPtr> waiting_;
  std::list<SeqPtr> running_;  // decoding, in admission order
  SeqPtr chunked_;             // the one sequence in the middle of a chunked prefill
  double new_token_ratio_;
  uint64_t next_order_ = 0;
  uint64_t seed_state_;
  std::vector<float> logits_;
  std::vector<std::vector<int64_t>> slot_buffers_;
  SchedulerLoad totals_;                                                   // the *_total counters
  std::unordered_map<std::string, std::shared_ptr<RequestGroup>> groups_;  // live requests by id
};

}  // namespace dpserve::engine
