// Durable records of the domain: what a StateStore keeps and what the Engine restores from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.hpp"

namespace ws::core {

struct AttendeeRecord {
  AttendeeId id;
  std::string name;
  std::string avatar;
  bool mic = true;
  bool cam = true;
  friend bool operator==(const AttendeeRecord&, const AttendeeRecord&) = default;
};

struct CallRecord {
  CallId id;
  std::int64_t started_ms = 0;
  std::vector<AttendeeId> participants;  // owner included
  friend bool operator==(const CallRecord&, const CallRecord&) = default;
};

struct WorkspaceRecord {
  WorkspaceId id;
  std::string name;
  std::string avatar;
  AttendeeId owner;
  std::int64_t created_ms = 0;
  std::string pin_hash;  // empty: no PIN. Argon2id string (salt inside), never sent anywhere.
  std::string invite;    // the invite token
  std::vector<AttendeeRecord> members;  // current members (online or within grace)
  std::vector<AttendeeRecord> former;   // left or expired: may re-attend with their token
  std::vector<AttendeeId> revoked;      // kicked: their tokens are dead
  std::optional<CallRecord> call;
  // Since when no member has been online (unix ms); empty while someone is online. Drives
  // workspace_idle_ttl_seconds across restarts.
  std::optional<std::int64_t> idle_since_ms;
  friend bool operator==(const WorkspaceRecord&, const WorkspaceRecord&) = default;
};

/// Everything a store holds; the Engine is rebuilt from it at start.
struct Snapshot {
  std::vector<WorkspaceRecord> workspaces;
};

// ---- changes, emitted by the Engine as Persist effects, in order ----
struct WorkspacePut {  // created, or any change of its metadata/members/call: full record
  WorkspaceRecord workspace;
};
struct WorkspaceDeleted {
  WorkspaceId id;
};
using Change = std::variant<WorkspacePut, WorkspaceDeleted>;

}  // namespace ws::core
