// The routable workers. Readers (every request, on every io thread) get an immutable snapshot
// through a per-thread cache checked against one atomic version, so the hot path takes no lock;
// writers (worker add/remove, rare) publish a new snapshot under a mutex.
#pragma once

#include "common/http/url.h"
#include "router/policy.h"
#include "router/worker.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::router {

// A worker plus what the proxy needs to reach it.
struct WorkerEntry {
  WorkerPtr worker;
  http::Endpoint endpoint;
  std::string base_url;  // the registered URL (shared by every rank of a DP-aware worker)
  int dp_size = 1;
};
using EntryPtr = std::shared_ptr<const WorkerEntry>;

struct ModelGroup {
  std::string model;
  std::vector<WorkerPtr> workers;  // what policies see (parallel to entries)
  std::vector<EntryPtr> entries;
};

struct RegistrySnapshot {
  uint64_t version = 0;
  std::vector<EntryPtr> entries;  // registration order
  std::vector<ModelGroup> groups;
  // The group for `model`: exact match, or the only group when `model` is empty or unknown and
  // just one model is served. nullptr otherwise.
  const ModelGroup* find(std::string_view model) const;
};

class WorkerRegistry {
 public:
  explicit WorkerRegistry(Policy& policy) : policy_(policy) {}

  // The current snapshot, cached per thread. The reference stays valid until this thread calls
  // current() again, so callers that suspend keep `shared()` instead.
  const RegistrySnapshot& current() const;
  std::shared_ptr<const RegistrySnapshot> shared() const;

  // Adds entries (all ranks of one URL at once). Fails (returns false) if the URL is registered.
  bool add(const std::vector<std::shared_ptr<WorkerEntry>>& entries);
  // Removes one logical worker by id; returns it, or nullptr if unknown.
  EntryPtr remove(std::string_view id);
  bool has_url(std::string_view base_url) const;
  EntryPtr find(std::string_view id) const;
  std::vector<EntryPtr> find_url(std::string_view base_url) const;

 private:
  void publish(std::vector<EntryPtr> entries);

  Policy& policy_;
  mutable std::mutex mu_;
  std::shared_ptr<const RegistrySnapshot> snapshot_ = std::make_shared<RegistrySnapshot>();
  std::atomic<uint64_t> version_{0};
};

// A random RFC 4122 version-4 UUID string.
std::string make_uuid();

}  // namespace dpserve::router
