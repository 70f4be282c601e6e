#include "engine/sched/scheduler.h"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace dpserve::engine {

namespace {

const SchedulerConfig& checked(const SchedulerConfig& config) {
  std::string error = config.validate();
  if (!error.empty()) throw std::invalid_argument(error);
  return config;
}

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config, Model& model)
    : config_(checked(config)),
      model_(model),
      context_length_(config.context_length > 0 ? config.context_length
                                                : model.info().max_position_embeddings),
      kv_(config.max_total_tokens, config.page_size, !config.disable_radix_cache),
      storage_(model.info().num_layers, kv_.total_tokens(), model.info().kv_k_width,
               model.info().kv_v_width),
      new_token_ratio_(config.init_new_token_ratio),
      seed_state_(std::random_device{}()) {
  if (context_length_ <= 0) throw std::invalid_argument("unknown context length");
  if (model.info().vocab_size <= 0) throw std::invalid_argument("model reports no vocabulary");
}

std::string Scheduler::validate(const GenerateRequest& r) const {
  const int64_t prompt = static_cast<int64_t>(r.input_ids.size());
  if (prompt == 0) return "the input is empty";
  const int vocab = model_.info().vocab_size;
  for (int32_t t : r.input_ids) {
    if (t < 0 || t >= vocab) {
      return "input token id " + std::to_string(t) + " is outside the vocabulary (size " +
             std::to_string(vocab) + ")";
    }
  }
  if (r.max_new_tokens < 0) return "max_new_tokens must be >= 0";
  if (r.n < 1) return "n must be >= 1";
  if (std::string s = r.sampling.validate(); !s.empty()) return s;
  if (prompt >= context_length_) {
    return "The input (" + std::to_string(prompt) + " tokens) is longer than the model's context " +
           "length (" + std::to_string(context_length_) + " tokens).";
  }
  const int64_t total = prompt + r.max_new_tokens;
  if (total > context_length_) {
    return "Requested token count exceeds the model's maximum context length of " +
           std::to_string(context_length_) + " tokens. You requested a total of " +
           std::to_string(total) + " tokens: " + std::to_string(prompt) +
           " tokens from the input and " + std::to_string(r.max_new_tokens) +
           " tokens for the completion.";
  }
  if (total > kv_.total_tokens()) {
    return "Requested " + std::to_string(total) +
           " tokens (input + max_new_tokens), more than the " + "KV cache holds (" +
           std::to_string(kv_.total_tokens()) + " tokens).";
  }
  return {};
}

std::string Scheduler::add(GenerateRequest request, OutputCallback callback) {
  if (std::string error = validate(request); !error.empty()) return error;
  if (groups_.count(request.id) != 0) return "request id '" + request.id + "' is already in use";
  auto group = std::make_shared<RequestGroup>();
  group->request = std::move(request);
  group->callback = std::move(callback);
  group->arrival_time = Clock::now();
  const GenerateRequest& r = group->request;
  uint64_t seed = r.sampling.seed ? *r.sampling.seed : Rng(seed_state_++).next();
  std::vector<SeqPtr> samples;
  for (int i = 0; i < r.n; ++i) {
    samples.push_back(
        std::make_unique<Sequence>(group, i, seed + static_cast<uint64_t>(i), next_order_++));
  }
  if (r.max_new_tokens == 0) {  // nothing to generate: answer at once, without touching the KV
    for (auto& s : samples) {
      s->cached_tokens = 0;
      emit(*s, FinishReason{FinishKind::kLength, {}, {}, {}});
    }
    return {};
  }
  group->live = r.n;
  groups_.emplace(r.id, group);
  for (auto& s : samples) waiting_.push_back(std::move(s));
  return {};
}

bool Scheduler::abort(const std::string& id, const std::string& why) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return false;
  std::shared_ptr<RequestGroup> group = it->second;
  std::vector<Sequence*> victims;
  for (auto& s : waiting_) {
    if (s->group == group) victims.push_back(s.get());
  }
  for (auto& s : running_) {
    if (s->group == group) victims.push_back(s.get());
  }
  if (chunked_ && chunked_->group == group) victims.push_back(chunked_.get());
  for (Sequence* s : victims) finish(s, FinishReason{FinishKind::kAbort, {}, {}, why});
  return true;
}

void Scheduler::abort_all(const std::string& why) {
  std::vector<std::string> ids;
  for (const auto& [id, group] : groups_) ids.push_back(id);
  for (const auto& id : ids) abort(id, why);
}

bool Scheduler::step() {
  std::vector<Chunk> batch = schedule_prefill();
  if (!batch.empty()) {
    run_prefill(batch);
    return true;
  }
  if (!running_.empty()) {
    run_decode();
    return true;
  }
  return false;
}

void Scheduler::forward(const std::vector<Chunk>& batch) {
  Batch b;
  slot_buffers_.resize(std::max(slot_buffers_.size(), batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& s = *batch[i].seq;
    kv_.fill_slots(s.kv, s.kv_len + batch[i].len, slot_buffers_[i]);
    b.seqs.push_back(SeqInput{std::span<const int32_t>(s.tokens).subspan(
                                  static_cast<size_t>(s.kv_len), static_cast<size_t>(batch[i].len)),
                              s.kv_len, slot_buffers_[i]});
  }
  logits_.resize(batch.size() * static_cast<size_t>(model_.info().vocab_size));
  model_.forward(b, storage_, logits_);
}

void Scheduler::run_prefill(const std::vector<Chunk>& batch) {
  forward(batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& s = *batch[i].seq;
    s.kv_len += batch[i].len;
    // Cache every computed page right away so concurrent requests and sibling samples share it.
    kv_.cache(std::span<const int32_t>(s.tokens).first(static_cast<size_t>(s.kv_len)), s.kv);
    if (s.remaining_prefill() == 0) {
      s.in_prefill = false;
      --s.group->prefilling;
      append_token(s, static_cast<int>(i));
    }
  }
}

void Scheduler::run_decode() {
  if (!make_room_for_decode()) return;
  std::vector<Chunk> batch;
  for (auto& s : running_) {
    kv_.grow(s->kv, s->kv_len + 1);  // make_room_for_decode guaranteed the pages
    batch.push_back(Chunk{s.get(), 1});
  }
  forward(batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].seq->kv_len += 1;
    append_token(*batch[i].seq, static_cast<int>(i));
  }
  const double decay = (config_.init_new_token_ratio - config_.min_new_token_ratio) /
                       config_.new_token_ratio_decay_steps;
  new_token_ratio_ = std::max(config_.min_new_token_ratio, new_token_ratio_ - decay);
}

bool Scheduler::make_room_for_decode() {
  for (;;) {
    int64_t need = 0;
    for (auto& s : running_) need += kv_.pages_needed(s->kv, s->kv_len + 1) * kv_.page_size();
    if (need <= kv_.available_tokens()) return true;
    if (running_.size() <= 1) {
      // validate() bounds every request by the pool, so a lone sequence always fits; if not, fail
      // it loudly rather than spin.
      finish(running_.front().get(), FinishReason{FinishKind::kError, {}, {}, "out of KV memory"});
      return false;
    }
    // Retract the sequence that loses the least work: fewest generated tokens, then longest prompt
    // (frees the most), then the newest.
    auto victim =
        std::min_element(running_.begin(), running_.end(), [](const auto& a, const auto& b) {
          if (a->completion_tokens() != b->completion_tokens()) {
            return a->completion_tokens() < b->completion_tokens();
          }
          if (a->prompt_len != b->prompt_len) return a->prompt_len > b->prompt_len;
          return a->arrival_order > b->arrival_order;
        });
    retract(victim->get());
  }
}

void Scheduler::retract(Sequence* seq) {
  SeqPtr s = detach(seq);
  kv_.release(std::span<const int32_t>(s->tokens).first(static_cast<size_t>(s->kv_len)), s->kv);
  s->kv_len = 0;
  ++s->retractions;
  ++totals_.retractions_total;
  new_token_ratio_ = config_.init_new_token_ratio;
  waiting_.push_front(std::move(s));
}

void Scheduler::append_token(Sequence& s, int row) {
  const auto vocab = static_cast<size_t>(model_.info().vocab_size);
  Sample sample =
      s.sampler.sample(std::span<float>(logits_.data() + static_cast<size_t>(row) * vocab, vocab));
  s.tokens.push_back(sample.token);
  ++totals_.generation_tokens_total;
  s.pending.token_ids.push_back(sample.token);
  if (s.request().sampling.return_logprob) {
    s.pending.logprobs.push_back(sample.logprob);
    s.pending.top_logprobs.push_back(std::move(sample.top));
  }
  if (s.first_token_time == Clock::time_point{}) s.first_token_time = Clock::now();
  if (auto reason = stop_reason(s)) {
    finish(&s, *reason);
  } else {
    emit(s, std::nullopt);
  }
}

std::optional<FinishReason> Scheduler::stop_reason(const Sequence& s) const {
  const GenerateRequest& r = s.request();
  const int32_t last = s.tokens.back();
  const auto& eos = model_.info().eos_token_ids;
  if (std::find(r.stop_token_ids.begin(), r.stop_token_ids.end(), last) != r.stop_token_ids.end() ||
      (!r.ignore_eos && std::find(eos.begin(), eos.end(), last) != eos.end())) {
    return FinishReason{FinishKind::kStop, last, {}, {}};
  }
  if (r.stop_checker) {
    auto output = std::span<const int32_t>(s.tokens).subspan(static_cast<size_t>(s.prompt_len));
    if (auto matched = r.stop_checker(output)) {
      return FinishReason{FinishKind::kStop, {}, *matched, {}};
    }
  }
  if (s.completion_tokens() >= r.max_new_tokens)
    return FinishReason{FinishKind::kLength, {}, {}, {}};
  return std::nullopt;
}

void Scheduler::emit(Sequence& s, std::optional<FinishReason> finish) {
  RequestOutput& out = s.pending;
  out.id = s.request().id;
  out.index = s.index;
  out.finish = std::move(finish);
  out.prompt_tokens = s.prompt_len;
  out.completion_tokens = s.completion_tokens();
  out.cached_tokens = s.cached_tokens;
  out.arrival_time = s.group->arrival_time;
  out.time = Clock::now();
  out.first_token_time = s.first_token_time;
  if (s.group->callback) {
    try {
      s.group->callback(out);
    } catch (...) {
      // A front end's bug must not take the scheduler (and every other request) down.
    }
  }
  out.token_ids.clear();
  out.logprobs.clear();
  out.top_logprobs.clear();
}

Scheduler::SeqPtr Scheduler::detach(Sequence* seq) {
  SeqPtr out;
  if (chunked_.get() == seq) {
    out = std::move(chunked_);
  } else if (auto it = std::find_if(running_.begin(), running_.end(),
                                    [&](const SeqPtr& p) { return p.get() == seq; });
             it != running_.end()) {
    out = std::move(*it);
    running_.erase(it);
  } else if (auto w = std::find_if(waiting_.begin(), waiting_.end(),
                                   [&](const SeqPtr& p) { return p.get() == seq; });
             w != waiting_.end()) {
    out = std::move(*w);
    waiting_.erase(w);
  }
  if (out && out->in_prefill) {
    out->in_prefill = false;
    --out->group->prefilling;
  }
  return out;
}

void Scheduler::finish(Sequence* seq, FinishReason reason) {
  SeqPtr s = detach(seq);
  if (!s) return;
  emit(*s, std::move(reason));
  kv_.release(std::span<const int32_t>(s->tokens).first(static_cast<size_t>(s->kv_len)), s->kv);
  if (--s->group->live == 0) groups_.erase(s->request().id);
}

bool Scheduler::flush_cache() { return idle() && kv_.flush(); }

SchedulerLoad Scheduler::load() const {
  SchedulerLoad l = totals_;
  l.num_running = static_cast<int>(running_.size()) + (chunked_ ? 1 : 0);
  l.num_waiting = static_cast<int>(waiting_.size());
  l.num_used_tokens = kv_.used_tokens();
  l.max_total_tokens = kv_.total_tokens();
  l.cached_tokens_in_tree = kv_.cached_tokens();
  l.token_usage = static_cast<double>(l.num_used_tokens) / static_cast<double>(l.max_total_tokens);
  return l;
}

std::string Scheduler::check_invariants() const {
  if (std::string e = kv_.check_invariants(); !e.empty()) return e;
  int64_t private_tokens = 0;
  auto count = [&](const Sequence& s) {
    private_tokens += (static_cast<int64_t>(s.kv.pages.size()) * kv_.page_size()) - s.kv.cached_len;
  };
  for (const auto& s : running_) count(*s);
  if (chunked_) count(*chunked_);
  for (const auto& s : waiting_) {
    if (!s->kv.pages.empty() || s->kv.lock != nullptr) return "a waiting sequence holds KV";
  }
  if (private_tokens != kv_.private_tokens()) return "sequences' private pages != pool's count";
  return {};
}

}  // namespace dpserve::engine
