// Private state and helpers of core::Engine, shared by the handler files. Not a public header.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/engine.hpp"
#include "core/limits.hpp"
#include "core/views.hpp"

namespace ws::core {

/// A current member: online when `conn` is set, else within the reconnect grace period.
struct Member {
  AttendeeRecord rec;
  std::optional<ConnId> conn;
  std::optional<TimerId> grace_timer;
};

struct Call {
  CallRecord rec;
  std::map<AttendeeId, TimerId> rings;  // pending rings by callee
  bool has_participant(const AttendeeId& a) const;
};

/// Former members in the order they left, oldest first, found by id in O(1).
class FormerMembers {
 public:
  using List = std::list<FormerRecord>;
  /// Adds `rec` as the newest (an entry with the same id is replaced).
  void add(FormerRecord rec);
  const FormerRecord* find(const AttendeeId& id) const;
  bool contains(const AttendeeId& id) const { return index_.count(id) > 0; }
  /// False when `id` is not a former member.
  bool erase(const AttendeeId& id);
  std::size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  List::const_iterator begin() const { return list_.begin(); }
  List::const_iterator end() const { return list_.end(); }

 private:
  List list_;
  std::unordered_map<AttendeeId, List::iterator> index_;
};

struct Workspace {
  WorkspaceId id;
  std::string name, avatar;
  AttendeeId owner;
  std::int64_t created_ms = 0;
  std::string pin_hash;
  std::string invite;
  std::map<AttendeeId, Member> members;
  FormerMembers former;  // bounded: see prune_former()
  std::optional<Call> call;
  std::vector<AttendeeId> join_order;         // members in the order they joined (for stable lists)
  std::optional<std::int64_t> idle_since_ms;  // no member online since (unix ms)
  std::optional<TimerId> idle_timer;          // fires at idle_since + idle_ttl

  Member* member(const AttendeeId& a);
  WorkspaceRecord record() const;
};

/// What a connection is bound to (PROTOCOL.md §3 "bound connection").
struct Binding {
  WorkspaceId wid;
  AttendeeId aid;
};

/// A connection's allowance (PROTOCOL.md §10): a token bucket of frames (messages) and one of
/// bytes, and the current run of refusals (a second without one ends it).
struct MessageBucket {
  TokenBucket<TimePoint> frames;
  TokenBucket<TimePoint> bytes;
  std::optional<TimePoint> refused_since;  // first refusal of the current run
  TimePoint last_refused;
};

struct Conn {
  std::string ip;
  std::string key;  // address_key(ip): what every per-address limit counts by
  MessageBucket bucket;
  std::optional<Binding> bound;
  std::vector<TimePoint> bad_frames;  // within the bad-frame window, oldest first
  /// The last access token this connection presented that verified, byte for byte, and its
  /// claims: the same bytes need no second signature check (expiry, revocation and
  /// membership are still checked on every request).
  std::string verified_token;
  AccessClaims verified_claims;
};

/// The request being answered: where the direct reply goes and what it echoes.
struct ReplyTo {
  ConnId conn;
  json::value id;     // null: no id
  json::value nonce;  // null: none
  std::string event;  // the request's event name, for `ok` and alerts
};

struct TimerInfo {
  enum class Kind { kGrace, kRing, kIdle, kPinSlowLane } kind;
  WorkspaceId wid;
  AttendeeId aid;  // grace: the offline member; ring: the callee; idle: empty
};

struct PendingCreate {
  ReplyTo to;
  CreateReq req;
  std::string key;       // the client's address_key()
  bool hashing = false;  // holds the address's hash slot (HashPin asked for)
};
struct PendingAttend {
  ReplyTo to;
  WorkspaceId wid;
  AttendReq req;
  std::string key;           // the client's address_key()
  bool pin_checked = false;  // holds the address's hash slot; counted in pin_attempts
  bool slow_lane = false;    // holds its workspace's slow lane
};
struct PendingIce {
  ReplyTo to;
};
using Pending = std::variant<PendingCreate, PendingAttend, PendingIce>;

/// PIN attempts from one client address key on one workspace (PROTOCOL.md §3's limit).
struct PinAttempts {
  std::deque<TimePoint> failures;  // wrong or missing PINs within the window, oldest first
  int checking = 0;  // PINs being verified now: 0 or 1, as an address has one check at a time
  bool idle() const { return failures.empty() && checking == 0; }
};

/// One address key's PIN hashing (docs/protocol.md §11): present while its one HashPin or
/// VerifyPin is in flight; at most kWaitingPerAddress more of its requests wait behind it.
struct HashLane {
  static constexpr std::size_t kWaitingPerAddress = 1;
  std::deque<RequestId> waiting;  // `pending` ids, oldest first
  /// When this address's hash was last handed to the pool (min: not while the lane lived).
  TimePoint served = TimePoint::min();
};

/// A granted hash not yet handed to the pool.
struct QueuedHash {
  std::string key;
  Effect work;  // HashPin or VerifyPin
};

/// Wrong PINs on one workspace from all addresses together, and its slow lane
/// (docs/protocol.md §11). Erased with the workspace, or when nothing in it is recent.
struct PinGuard {
  /// The latest wrong PINs within pin_workspace_window, oldest first; never more than
  /// pin_max_failures_per_workspace (older ones cannot change whether the cap is reached).
  std::deque<TimePoint> failures;
  /// Address keys with a wrong PIN here, and when their latest was. Entries older than the
  /// window are pruned as it grows; see prune_failed_addresses for its bound.
  std::unordered_map<std::string, TimePoint> failed;
  std::size_t failed_prune_at = 64;  // prune `failed` when it grows past this
  bool slow = false;                 // the slow lane is on
  bool lane_busy = false;            // a slow-lane check is in flight
  TimePoint lane_next{};             // no slow-lane check starts before this
  std::optional<TimerId> timer;      // while slow: when to see whether it may end
  bool idle() const { return !slow && !lane_busy && failures.empty() && failed.empty(); }
};

/// An authenticated, bound request: who sent it and for which workspace.
struct Caller {
  ReplyTo to;
  Workspace* ws;
  AccessClaims claims;
  Member* self;  // the sender as a member (bound connection)
};

struct Engine::Impl {
  Impl(EngineOptions o, const TokenCodec& t, RandomSource& r)
      : opt(std::move(o)), tokens(t), random(r) {}

  EngineOptions opt;
  const TokenCodec& tokens;
  RandomSource& random;

  std::unordered_map<WorkspaceId, Workspace> workspaces;
  std::unordered_map<ConnId, Conn> conns;
  std::unordered_map<TimerId, TimerInfo> timers;
  std::unordered_map<RequestId, Pending> pending;
  std::map<std::pair<std::string, WorkspaceId>, PinAttempts> pin_attempts;
  std::uint64_t pin_checks = 0;  // attends to PIN workspaces, paces prune_pin_attempts
  /// Address keys with a hash in flight (docs/protocol.md §11): at most opt.pin_hash_queue.
  std::unordered_map<std::string, HashLane> hash_lanes;
  std::size_t hashes_in_flight = 0;    // == hash_lanes.size(): queued here or in the pool
  std::vector<QueuedHash> hash_queue;  // granted, not yet handed out; oldest first
  std::size_t hashes_in_pool = 0;      // handed out, not yet Completed: opt.pin_hash_parallel
  /// While release_hash_slot resumes an address's waiting request: that address's `served`.
  std::optional<std::pair<std::string, TimePoint>> inherit_served;
  std::unordered_map<WorkspaceId, PinGuard> pin_guards;
  std::uint64_t pin_checks_refused_busy = 0;
  std::uint64_t pin_checks_refused_workspace = 0;
  std::uint64_t next_timer = 1;
  std::uint64_t next_request = 1;
  std::uint64_t expired_workspaces = 0;
  std::uint64_t messages_rate_limited = 0;
  std::uint64_t bytes_rate_limited = 0;
  std::uint64_t rate_limit_closes = 0;
  std::uint64_t workspaces_rate_limited = 0;
  /// Accepted `create`s per client address key within the last hour, oldest first (PROTOCOL.md
  /// §10).
  std::unordered_map<std::string, std::vector<TimePoint>> creates_by_ip;
  std::uint64_t creates = 0;  // paces prune_creates
  /// Bound effects of the event being handled, put first in its Effects by handle(): they
  /// take effect at once, before any Persist's wait.
  Effects bound_changes;

  // ---- dispatch (engine.cpp) ----
  Effects on_received(const Received& r, TimePoint now);
  Effects on_frames(const FramesReceived& f, TimePoint now);
  Effects on_disconnected(ConnId conn, TimePoint now);
  Effects on_completed(const Completed& c, TimePoint now);
  Effects on_timer(TimerId id, TimePoint now);
  Effects on_shutdown(int retry_after_s);
  /// The token's claims, from the connection's cache when the bytes match the last token it
  /// verified (expiry still checked against `now`), else from the TokenCodec.
  Result<AccessClaims> verify_access(Conn& conn, const std::string& token, TimePoint now);
  Effects dispatch_member(Caller& c, const Request& req, TimePoint now);

  // ---- limits (engine.cpp) ----
  /// Takes `frames` message tokens and `bytes` byte tokens from the connection's buckets, or
  /// none when either lacks them: then appends the `rate_limited` alert, or close 1008 once
  /// refusals have gone on for rate_limit_close_after, and returns false.
  bool take_message_token(Conn& conn, const ReplyTo& to, std::uint32_t frames, std::uint64_t bytes,
                          TimePoint now, Effects& out);
  TokenRate message_rate() const { return {opt.messages_per_second, opt.messages_burst}; }
  TokenRate byte_rate() const { return {opt.bytes_per_second, opt.bytes_burst}; }
  /// Whether address key `key` may create one more workspace now; when not, appends the alert.
  bool take_create_allowance(const std::string& key, const ReplyTo& to, TimePoint now,
                             Effects& out);
  void prune_creates(TimePoint now);

  // ---- workspace handlers (handlers/workspace.cpp) ----
  Effects create(const ReplyTo& to, const CreateReq& req, TimePoint now);
  Effects finish_create(const PendingCreate& p, Result<std::string> hash, TimePoint now);
  Effects attend(const ReplyTo& to, const Request& req, TimePoint now);
  void prune_pin_attempts(TimePoint now);
  /// The PIN check of attend `rid` (already in `pending`), or its refusal by a limit, or its
  /// place behind its address's check in flight.
  Effects check_pin(RequestId rid, const Workspace& ws, TimePoint now);
  Effects finish_attend(const PendingAttend& p, bool match, TimePoint now);

  // ---- PIN hashing and guessing limits (handlers/pin_gate.cpp) ----
  enum class HashSlot { kGranted, kQueued, kRefused };
  /// Whether a hash for address key `key` would be granted or queued (not refused).
  bool hash_slot_open(const std::string& key) const;
  /// Takes `key`'s hash slot for `rid`, or queues `rid` behind it, or refuses.
  HashSlot take_hash_slot(const std::string& key, RequestId rid);
  /// `key`'s hash ended: frees its slot and resumes the request waiting behind it.
  void release_hash_slot(const std::string& key, TimePoint now, Effects& out);
  /// Queues granted work (HashPin/VerifyPin) of `key` and hands out what the pool can take.
  void submit_hash(const std::string& key, Effect work, TimePoint now, Effects& out);
  /// Hands queued hashes to the pool while it has room, least recently served address first.
  void pump_hashes(TimePoint now, Effects& out);
  /// The `rate_limited` alert for a hash refused by the per-address or server-wide bound.
  Effects hash_busy(const ReplyTo& to);
  /// A wrong (or missing) PIN from `key` on `wid`: counted per address and per workspace; the
  /// workspace's slow lane starts when it reaches pin_max_failures_per_workspace.
  void record_pin_failure(const std::string& key, const WorkspaceId& wid, TimePoint now,
                          Effects& out);
  /// The slow lane's timer: ends the lane (and says so) once the window holds fewer failures.
  Effects slow_lane_check(const WorkspaceId& wid, TimerId id, TimePoint now);
  void prune_failed_addresses(PinGuard& g, TimePoint now);
  void prune_pin_guards(TimePoint now);
  /// Attends waiting for a hash slot on `wid` get `destroyed` and leave their lines.
  void drop_waiting_attends(const WorkspaceId& wid, Effects& out);
  Effects re_attend(const ReplyTo& to, Workspace& ws, const AccessClaims& claims,
                    const std::string& token, TimePoint now);
  Effects leave(Caller& c, TimePoint now);
  Effects destroy(Caller& c, TimePoint now);
  Effects kick(Caller& c, const KickReq& req, TimePoint now);
  Effects toggle(Caller& c, bool mic, const ToggleReq& req);
  Effects list_attendees(Caller& c);
  Effects refresh(Caller& c, TimePoint now);
  Effects grace_expired(Workspace& ws, const AttendeeId& aid, TimePoint now);
  /// Keeps `idle_since_ms` and the idle timer in step with whether any member is online.
  /// Returns true when `idle_since_ms` changed, so the caller persists the record.
  bool track_idle(Workspace& ws, TimePoint now, Effects& out);
  Effects idle_expired(Workspace& ws, TimePoint now);
  /// Cancels the workspace's timers, forgets its PIN attempts and erases it. Unbinding the
  /// members' connections and telling anyone is the caller's business.
  void drop_workspace(Workspace& ws, Effects& out);

  // ---- call handlers (handlers/call.cpp) ----
  Effects ring(Caller& c, const RingReq& req, TimePoint now);
  Effects answer(Caller& c, const AnswerReq& req, TimePoint now);
  Effects busy(Caller& c, const BusyReq& req, TimePoint now);
  Effects hangup(Caller& c, const HangupReq& req, TimePoint now);
  Effects ring_timed_out(Workspace& ws, const AttendeeId& callee, TimePoint now);
  /// A member stops being a member (leave, kick, grace expiry): end its rings, drop it from
  /// the call, end the call when it is the owner (PROTOCOL.md §4.1).
  void detach_from_call(Workspace& ws, const AttendeeId& aid, Effects& out);
  void end_call(Workspace& ws, Effects& out);
  /// detach_from_call(), and persist_call() when it changed the call.
  void detach_and_persist(Workspace& ws, const AttendeeId& aid, Effects& out);

  // ---- relay handlers (handlers/relay.cpp) ----
  Effects ice_candidate(Caller& c, const IceCandidateReq& req);
  Effects negotiation(Caller& c, const NegotiationReq& req);
  Effects ice_servers(const ReplyTo& to, std::optional<AttendeeId> attendee);

  // ---- helpers (engine.cpp) ----
  /// Records a frame or field error on `conn`; appends close 1008 when there were more than
  /// max_bad_frames within bad_frame_window (PROTOCOL.md §2, docs/protocol.md §11).
  void count_bad_frame(ConnId conn, TimePoint now, Effects& out);
  Effects alert(const ReplyTo& to, const Error& e) const;
  Effects alert(const ReplyTo& to, ErrorCode code, std::string message,
                std::string field = {}) const;
  ServerMessage reply(const ReplyTo& to, ServerEvent ev, json::object data) const;
  /// `ok {event}` when the request carried an id, else nothing.
  void ok(const ReplyTo& to, Effects& out) const;
  /// `full {workspace:{id}, capacity}` then close 4001.
  Effects full(const ReplyTo& to, const Workspace& ws) const;
  Effects destroyed_reply(const ReplyTo& to, const WorkspaceId& wid) const;
  /// Online members' connections, except `except`.
  std::vector<ConnId> online(const Workspace& ws, const AttendeeId* except = nullptr) const;
  void push(Effects& out, std::vector<ConnId> conns, ServerEvent ev, json::object data) const;
  void push_to(Effects& out, const Workspace& ws, const AttendeeId& aid, ServerEvent ev,
               json::object data) const;
  std::string new_id();
  std::string issue_access(const Workspace& ws, const AttendeeId& aid, TimePoint now);
  TimerId arm(Effects& out, TimerInfo info, TimePoint at);
  void cancel(Effects& out, std::optional<TimerId>& id);
  /// Appends Persist{change} when a store keeps the state (EngineOptions::durable).
  void persist(Effects& out, Change change) const;
  void persist_call(Effects& out, const Workspace& ws) const;
  void persist_idle(Effects& out, const Workspace& ws) const;
  /// track_idle(), and persist_idle() when it changed idle_since_ms.
  void update_idle(Workspace& ws, TimePoint now, Effects& out);
  /// Member `aid` stops being a member and becomes the newest former member (persisted), then
  /// prune_former(). Its rings, call and connection are the caller's business.
  void retire_member(Workspace& ws, const AttendeeId& aid, TimePoint now, Effects& out);
  /// Forgets former members whose every token has expired (left_ms + access_token_ttl has
  /// passed), then the oldest past max_former (never the owner), each persisted as
  /// AttendeeForgotten: memory and the stored record stay bounded whatever the churn.
  void prune_former(Workspace& ws, TimePoint now, Effects& out);
  json::object granted_data(const Workspace& ws, const AttendeeId& self,
                            const std::string& access) const;
  json::object attendees_map(const Workspace& ws) const;
  /// Makes `aid` a member bound to `conn`; returns the member.
  Member& bind_member(Workspace& ws, AttendeeRecord rec, ConnId conn);
  void unbind(ConnId conn);
  void log(Effects& out, LogLevel level, std::string event,
           std::vector<std::pair<std::string, std::string>> fields) const;
};

/// A `retryAfter` for `wait`: whole seconds, rounded up, at least 1 (0 would invite a tight
/// retry loop).
inline int retry_after_seconds(std::chrono::duration<double> wait) {
  return std::max(1, static_cast<int>(std::ceil(wait.count())));
}

inline std::int64_t unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
inline std::int64_t unix_s(TimePoint t) {
  return t.time_since_epoch().count() / 1000;
}

}  // namespace ws::core
