#include "router/registry.h"

#include "common/random_id.h"

#include <cstdio>

namespace dpserve::router {

const ModelGroup* RegistrySnapshot::find(std::string_view model) const {
  for (const auto& group : groups) {
    if (group.model == model) return &group;
  }
  if (groups.size() == 1) return &groups.front();
  return nullptr;
}

const RegistrySnapshot& WorkerRegistry::current() const {
  struct Cache {
    const WorkerRegistry* owner = nullptr;
    uint64_t version = ~uint64_t{0};
    std::shared_ptr<const RegistrySnapshot> snapshot;
  };
  thread_local Cache cache;
  uint64_t version = version_.load(std::memory_order_acquire);
  if (cache.owner != this || cache.version != version) {
    std::lock_guard lock(mu_);
    cache.owner = this;
    cache.snapshot = snapshot_;
    cache.version = snapshot_->version;
  }
  return *cache.snapshot;
}

std::shared_ptr<const RegistrySnapshot> WorkerRegistry::shared() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void WorkerRegistry::publish(std::vector<EntryPtr> entries) {
  auto next = std::make_shared<RegistrySnapshot>();
  next->version = snapshot_->version + 1;
  for (const auto& entry : entries) {
    const std::string& model = entry->worker->model_id();
    ModelGroup* group = nullptr;
    for (auto& existing : next->groups) {
      if (existing.model == model) group = &existing;
    }
    if (!group) {
      next->groups.push_back(ModelGroup{model, {}, {}});
      group = &next->groups.back();
    }
    group->workers.push_back(entry->worker);
    group->entries.push_back(entry);
  }
  next->entries = std::move(entries);
  snapshot_ = std::move(next);
  version_.store(snapshot_->version, std::memory_order_release);
}

bool WorkerRegistry::add(const std::vector<std::shared_ptr<WorkerEntry>>& entries) {
  std::lock_guard lock(mu_);
  for (const auto& entry : snapshot_->entries) {
    for (const auto& added : entries) {
      if (entry->base_url == added->base_url) return false;
    }
  }
  auto all = snapshot_->entries;
  for (const auto& entry : entries) {
    all.push_back(entry);
    policy_.on_worker_added(*entry->worker);
  }
  publish(std::move(all));
  return true;
}

EntryPtr WorkerRegistry::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  EntryPtr removed;
  std::vector<EntryPtr> rest;
  for (const auto& entry : snapshot_->entries) {
    if (entry->worker->id() == id) {
      removed = entry;
    } else {
      rest.push_back(entry);
    }
  }
  if (!removed) return nullptr;
  policy_.on_worker_removed(*removed->worker);
  publish(std::move(rest));
  return removed;
}

bool WorkerRegistry::has_url(std::string_view base_url) const {
  return !find_url(base_url).empty();
}

EntryPtr WorkerRegistry::find(std::string_view id) const {
  auto snapshot = shared();
  for (const auto& entry : snapshot->entries) {
    if (entry->worker->id() == id) return entry;
  }
  return nullptr;
}

std::vector<EntryPtr> WorkerRegistry::find_url(std::string_view base_url) const {
  auto snapshot = shared();
  std::vector<EntryPtr> out;
  for (const auto& entry : snapshot->entries) {
    if (entry->base_url == base_url) out.push_back(entry);
  }
  return out;
}

std::string make_uuid() {
  uint64_t high = common::thread_random();
  uint64_t low = common::thread_random();
  high = (high & ~uint64_t{0xf000}) | 0x4000;                    // version 4
  low = (low & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // variant 10
  char out[40];
  std::snprintf(out, sizeof out, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return out;
}

}  // namespace dpserve::router
