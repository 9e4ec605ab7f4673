// The storage seam: where the Engine's durable changes go and where a restart reads them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "core/state.hpp"

namespace ws::store {

/// What a store has written since it started (GET /metrics).
struct StoreStats {
  std::uint64_t changes = 0;         // changes made durable
  std::uint64_t syncs = 0;           // fsync/fdatasync calls (or round trips) they took
  std::uint64_t compactions = 0;     // snapshots written to replace the journal
  std::uint64_t bytes = 0;           // bytes appended for changes
  std::uint64_t snapshot_bytes = 0;  // bytes of snapshots (at load and each compaction)
};

/// Persists workspace records. `load` runs once at startup; `apply` is called from the
/// Engine's strand in change order and calls `done` (on any thread) once the change is
/// durable, or failed. Implementations: MemoryStore (no durability), JSON file (issue 6),
/// Redis (later).
class StateStore {
 public:
  using Done = std::function<void(core::Result<void>)>;
  virtual ~StateStore() = default;
  virtual core::Result<core::Snapshot> load() = 0;
  virtual void apply(core::Change change, Done done) = 0;
  /// False when the backing storage is unreachable (GET /readyz answers 503).
  virtual bool healthy() const = 0;
  virtual std::string name() const = 0;
  /// Thread-safe. A store that writes nothing counts nothing.
  virtual StoreStats stats() const { return {}; }
};

}  // namespace ws::store
