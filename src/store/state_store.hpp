// The storage seam: where the Engine's durable changes go and where a restart reads them.
#pragma once

#include <functional>
#include <string>

#include "core/error.hpp"
#include "core/state.hpp"

namespace ws::store {

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
};

}  // namespace ws::store
