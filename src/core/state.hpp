// Durable records of the domain: what a StateStore keeps and what the Engine restores from.
#pragma once

#include <cstdint>
#include <map>
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

/// A former member: left, or dropped after the grace period, and may re-attend with a token
/// that is still valid. Only its name is kept (a re-joining member takes the default avatar):
/// the record stays small however large the avatar was (docs/protocol.md §11).
struct FormerRecord {
  AttendeeId id;
  std::string name;
  std::int64_t left_ms = 0;  // unix ms; with access_token_ttl it says when no token is left
  friend bool operator==(const FormerRecord&, const FormerRecord&) = default;
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
  std::vector<AttendeeRecord> members;  // current members (online or within grace), join order
  /// Left or expired, oldest first: may re-attend with their token. An attendee id that is
  /// neither a member nor a former member is revoked (kicked, or forgotten once its tokens
  /// expired or the former list was full): its tokens are refused with token_revoked.
  std::vector<FormerRecord> former;
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
// Each change carries only what changed, so a store writes bytes in proportion to the change,
// not to the workspace (a toggle never rewrites a 16 KiB avatar).

/// A new workspace (or a whole record, as a snapshot holds it).
struct WorkspacePut {
  WorkspaceRecord workspace;
  friend bool operator==(const WorkspacePut&, const WorkspacePut&) = default;
};
struct WorkspaceDeleted {
  WorkspaceId id;
  friend bool operator==(const WorkspaceDeleted&, const WorkspaceDeleted&) = default;
};
/// A member joined or re-joined: its whole record (it stops being a former member).
struct MemberPut {
  WorkspaceId workspace;
  AttendeeRecord attendee;
  friend bool operator==(const MemberPut&, const MemberPut&) = default;
};
/// A member's mic and cam.
struct MemberToggled {
  WorkspaceId workspace;
  AttendeeId attendee;
  bool mic = true;
  bool cam = true;
  friend bool operator==(const MemberToggled&, const MemberToggled&) = default;
};
/// A member left or its grace period ended: it becomes the newest former member.
struct MemberLeft {
  WorkspaceId workspace;
  FormerRecord former;
  friend bool operator==(const MemberLeft&, const MemberLeft&) = default;
};
/// A member or former member is gone for good (kicked; or a former member whose tokens have
/// all expired, or the oldest past max_former_per_workspace).
struct AttendeeForgotten {
  WorkspaceId workspace;
  AttendeeId attendee;
  friend bool operator==(const AttendeeForgotten&, const AttendeeForgotten&) = default;
};
/// The call started, changed its participants, or ended (nullopt).
struct CallChanged {
  WorkspaceId workspace;
  std::optional<CallRecord> call;
  friend bool operator==(const CallChanged&, const CallChanged&) = default;
};
/// idle_since_ms changed.
struct IdleChanged {
  WorkspaceId workspace;
  std::optional<std::int64_t> idle_since_ms;
  friend bool operator==(const IdleChanged&, const IdleChanged&) = default;
};
using Change = std::variant<WorkspacePut, WorkspaceDeleted, MemberPut, MemberToggled, MemberLeft,
                            AttendeeForgotten, CallChanged, IdleChanged>;

/// The workspace a change is about.
const WorkspaceId& workspace_of(const Change& change);

/// Applies `change` to the records of a store, keyed by workspace id. Pure: every store (memory,
/// file, the tests' fakes) replays changes with it, so they all agree on what a change means.
/// A change about a workspace that is not there, or an attendee that is not there, changes
/// nothing (a deleted workspace's late changes are never emitted, but replaying is forgiving).
void apply_change(std::map<WorkspaceId, WorkspaceRecord>& workspaces, Change change);

}  // namespace ws::core
