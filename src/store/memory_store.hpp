// StateStore kept in process memory: state is lost on restart (json_storage_file empty).
#pragma once

#include <map>
#include <mutex>

#include "store/state_store.hpp"

namespace ws::store {

/// Keeps the latest record of every workspace; `done` runs synchronously. Thread-safe.
class MemoryStore final : public StateStore {
 public:
  core::Result<core::Snapshot> load() override;
  void apply(core::Change change, Done done) override;
  bool healthy() const override { return true; }
  std::string name() const override { return "memory"; }

 private:
  mutable std::mutex mutex_;
  std::map<core::WorkspaceId, core::WorkspaceRecord> workspaces_;  // guarded by mutex_
};

}  // namespace ws::store
