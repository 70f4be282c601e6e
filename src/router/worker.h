// A routable worker as the router sees it: identity, health and the load the router itself tracks.
// Shared by the registry, the proxy and the policies; every mutable field is atomic because many io
// threads read and update it at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace dpserve::router {

class Worker {
 public:
  // `url` is the worker's identity as shown to users ("http://h:p", or "http://h:p@rank" for one
  // DP rank under --dp-aware); `base_url` is where its requests are sent.
  Worker(std::string id, std::string url, std::string base_url, std::optional<int> dp_rank,
         std::string model_id)
      : id_(std::move(id)),
        url_(std::move(url)),
        base_url_(std::move(base_url)),
        dp_rank_(dp_rank),
        model_id_(std::move(model_id)) {}

  const std::string& id() const { return id_; }
  const std::string& url() const { return url_; }
  const std::string& base_url() const { return base_url_; }
  std::optional<int> dp_rank() const { return dp_rank_; }
  const std::string& model_id() const { return model_id_; }

  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  void set_healthy(bool v) { healthy_.store(v, std::memory_order_relaxed); }
  // Draining workers finish what they have but get no new requests (removal in progress).
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void set_draining(bool v) { draining_.store(v, std::memory_order_relaxed); }
  // Circuit breaker state is owned by the reliability layer; policies only see the result.
  bool circuit_open() const { return circuit_open_.load(std::memory_order_relaxed); }
  void set_circuit_open(bool v) { circuit_open_.store(v, std::memory_order_relaxed); }
  bool available() const { return healthy() && !draining() && !circuit_open(); }

  // Router-tracked load: requests and prompt size (bytes of routing text, or token ids) in flight.
  int64_t in_flight_requests() const { return in_flight_requests_.load(std::memory_order_relaxed); }
  int64_t in_flight_tokens() const { return in_flight_tokens_.load(std::memory_order_relaxed); }
  // Dispatches so far (each attempt counts), for metrics.
  uint64_t selections() const { return selections_.load(std::memory_order_relaxed); }
  void add_load(int64_t prompt_size) {
    selections_.fetch_add(1, std::memory_order_relaxed);
    in_flight_requests_.fetch_add(1, std::memory_order_relaxed);
    in_flight_tokens_.fetch_add(prompt_size, std::memory_order_relaxed);
  }
  void remove_load(int64_t prompt_size) {
    in_flight_requests_.fetch_sub(1, std::memory_order_relaxed);
    in_flight_tokens_.fetch_sub(prompt_size, std::memory_order_relaxed);
  }

 private:
  const std::string id_;
  const std::string url_;
  const std::string base_url_;
  const std::optional<int> dp_rank_;
  const std::string model_id_;
  std::atomic<bool> healthy_{true};
  std::atomic<bool> draining_{false};
  std::atomic<bool> circuit_open_{false};
  std::atomic<int64_t> in_flight_requests_{0};
  std::atomic<int64_t> in_flight_tokens_{0};
  std::atomic<uint64_t> selections_{0};
};

using WorkerPtr = std::shared_ptr<Worker>;

// Holds one unit of load on a worker for the life of a request (dispatch to last byte or
// disconnect). Movable, not copyable.
class LoadGuard {
 public:
  LoadGuard() = default;
  LoadGuard(WorkerPtr worker, int64_t prompt_size)
      : worker_(std::move(worker)), prompt_size_(prompt_size) {
    if (worker_) worker_->add_load(prompt_size_);
  }
  LoadGuard(LoadGuard&& other) noexcept
      : worker_(std::move(other.worker_)), prompt_size_(other.prompt_size_) {}
  LoadGuard& operator=(LoadGuard&& other) noexcept {
    if (this != &other) {
      release();
      worker_ = std::move(other.worker_);
      prompt_size_ = other.prompt_size_;
    }
    return *this;
  }
  LoadGuard(const LoadGuard&) = delete;
  LoadGuard& operator=(const LoadGuard&) = delete;
  ~LoadGuard() { release(); }

  void release() {
    if (worker_) worker_->remove_load(prompt_size_);
    worker_.reset();
  }

 private:
  WorkerPtr worker_;
  int64_t prompt_size_ = 0;
};

}  // namespace dpserve::router
