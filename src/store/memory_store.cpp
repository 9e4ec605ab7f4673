// StateStore kept in process memory.
#include "store/memory_store.hpp"

#include <variant>

namespace ws::store {

core::Result<core::Snapshot> MemoryStore::load() {
  std::lock_guard lock(mutex_);
  core::Snapshot snap;
  for (const auto& [id, rec] : workspaces_) snap.workspaces.push_back(rec);
  return snap;
}

void MemoryStore::apply(core::Change change, Done done) {
  {
    std::lock_guard lock(mutex_);
    core::apply_change(workspaces_, std::move(change));
  }
  if (done) done({});
}

}  // namespace ws::store
