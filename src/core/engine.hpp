// The domain core: a pure state machine over workspaces, attendees, calls and rings.
// No sockets, threads, clock or store: Events in, Effects out (STYLE.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/json/array.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/messages.hpp"
#include "core/ports.hpp"
#include "core/state.hpp"

namespace ws::core {

/// Wall-clock time in milliseconds since the unix epoch, supplied by the caller.
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

/// Close codes of PROTOCOL.md §2.
enum class CloseCode : std::uint16_t {
  kInvalidPayload = 1007,
  kPolicy = 1008,
  kTooBig = 1009,
  kServiceRestart = 1012,
  kFull = 4001,
  kReplaced = 4002,
  kKicked = 4003,
};

// ---------------- Events ----------------
struct Connected {
  ConnId conn;
  std::string peer_ip;
};
/// A message. `frames` and `bytes` are what the client sent for it, since the last count
/// (its own fragments and any control frames before them; bytes on the wire): the rate limits
/// take them all (PROTOCOL.md §10).
struct Received {
  ConnId conn;
  Request request;
  std::uint32_t frames = 1;
  std::uint64_t bytes = 0;
};
/// Frames that delivered no message (pings, pongs, fragments, Engine.IO heartbeats), reported
/// once per read: they count against the rate limits like messages (PROTOCOL.md §10).
struct FramesReceived {
  ConnId conn;
  std::uint32_t frames = 0;
  std::uint64_t bytes = 0;
};
struct Disconnected {
  ConnId conn;
};
struct PinHashed {  // result of HashPin
  Result<std::string> hash;
};
struct PinVerified {  // result of VerifyPin
  bool match = false;
};
struct IceFetched {  // result of FetchIce: RTCIceServer list
  Result<boost::json::array> servers;
};
struct Completed {
  RequestId request;
  std::variant<PinHashed, PinVerified, IceFetched> result;
};
struct TimerFired {
  TimerId id;
};
/// SIGTERM/SIGINT: tell every connection `server-shutdown` (PROTOCOL.md §4.3).
struct ShutdownStarted {
  int retry_after_s = 1;
};
using Event = std::variant<Connected, Received, FramesReceived, Disconnected, Completed, TimerFired,
                           ShutdownStarted>;

// ---------------- Effects ----------------
struct Send {
  ConnId conn;
  ServerMessage msg;
};
/// The same message to many connections: serialise once, share the bytes.
struct Broadcast {
  std::vector<ConnId> conns;
  ServerMessage msg;
};
/// Close after everything already queued for the connection has been written.
struct Close {
  ConnId conn;
  CloseCode code;
  std::string reason;
};
/// Make a change durable. Effects after a Persist in the same batch are carried out only
/// once it is durable (PROTOCOL.md §8: the reply follows the fsync).
struct Persist {
  Change change;
};
struct ArmTimer {
  TimerId id;
  TimePoint at;
};
struct CancelTimer {
  TimerId id;
};
/// Hash a PIN (Argon2id + pepper) off the I/O threads; answer with Completed{PinHashed}.
struct HashPin {
  RequestId request;
  std::string pin;
};
/// Compare a PIN with a stored hash off the I/O threads; answer with Completed{PinVerified}.
struct VerifyPin {
  RequestId request;
  std::string pin;
  std::string hash;
};
/// Ask the ICE provider chain; answer with Completed{IceFetched}.
struct FetchIce {
  RequestId request;
  std::optional<AttendeeId> attendee;
};
enum class LogLevel { kDebug, kInfo, kWarn };
/// One structured log line: an event name and key/value fields (never secrets).
struct Log {
  LogLevel level = LogLevel::kInfo;
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields;
};
/// The connection became bound to a member (true) or stopped being one (false). A bound
/// connection is never evicted to make room for a new one (PROTOCOL.md §10, docs §11).
struct Bound {
  ConnId conn;
  bool bound = false;
};
using Effect = std::variant<Send, Broadcast, Close, Persist, ArmTimer, CancelTimer, HashPin,
                            VerifyPin, FetchIce, Log, Bound>;
using Effects = std::vector<Effect>;

/// Settings of the domain (from Config, picked by app/).
struct EngineOptions {
  bool development = false;
  std::size_t id_length = 10;                    // WORKSPACE_ID_LEN
  std::size_t max_capacity = 5;                  // max_capacity_of_workspace
  std::chrono::seconds reconnect_grace{30};      // reconnect_grace_seconds
  std::chrono::seconds ring_timeout{45};         // ring_timeout_seconds
  std::chrono::seconds access_token_ttl{86400};  // access_token_ttl_seconds
  /// max_former_per_workspace: former members kept per workspace (the owner always is); past
  /// it the one who left first is forgotten and its token refused (token_revoked).
  std::size_t max_former = 1000;
  std::string untitled_workspace = "Anonymous Workspace";
  std::string default_workspace_avatar;
  std::string anonymous_attendee = "Anonymous";
  std::string default_attendee_avatar;
  int max_bad_frames = 20;  // within bad_frame_window
  std::chrono::seconds bad_frame_window{10};
  /// Messages per connection (PROTOCOL.md §10): a token bucket of `messages_burst` tokens
  /// refilled at `messages_per_second`; a refused message gets `rate_limited`, and a
  /// connection refused for `rate_limit_close_after` without a second's pause is closed 1008.
  double messages_per_second = 100;
  double messages_burst = 300;
  /// Bytes per connection, the same way: every frame's bytes on the wire, in a bucket of
  /// `bytes_burst` refilled at `bytes_per_second`. Both buckets must hold enough.
  double bytes_per_second = 262144;
  double bytes_burst = 1048576;
  std::chrono::seconds rate_limit_close_after{10};
  int workspaces_per_ip_per_hour = 60;  // `create`s accepted per client IP in any hour
  int pin_max_failures = 5;             // per address key per workspace per window
  std::chrono::seconds pin_failure_window{60};
  /// PIN hashing is fair (docs/protocol.md §11): at most one HashPin/VerifyPin in flight per
  /// address key and one more waiting behind it; at most `pin_hash_queue` in flight for the
  /// whole server (queued for the pool or running). Past either: `rate_limited`.
  int pin_hash_queue = 16;
  /// Of those, how many are handed to the hashing pool at once (one per pool thread: a check
  /// handed out waits behind no other); the rest wait in the Engine, which hands out next the
  /// one whose address was served least recently, so an address that is not storming goes
  /// ahead of those that are.
  int pin_hash_parallel = 2;
  /// Distributed guessing (docs/protocol.md §11): once a workspace has had this many wrong PINs
  /// within `pin_workspace_window` from all addresses together, its PIN checks go through a
  /// slow lane: one at a time, one start per `pin_slow_lane_interval`, only for addresses that
  /// have not failed on it within the window.
  int pin_max_failures_per_workspace = 100;
  std::chrono::seconds pin_workspace_window{3600};
  std::chrono::milliseconds pin_slow_lane_interval{2000};
  /// workspace_idle_ttl_seconds: a workspace with no member online for this long is deleted
  /// (0 = never).
  std::chrono::seconds idle_ttl{0};
  /// A store keeps the state (json_storage_file): emit Persist effects. Without one there is
  /// nothing to make durable, so no record is built per change and no reply waits.
  bool durable = true;
};

/// Counts for /metrics, read on the Engine's strand.
struct EngineStats {
  std::size_t connections = 0;
  std::size_t workspaces = 0;
  std::size_t attendees = 0;  // members, online or within grace
  std::size_t online_attendees = 0;
  std::size_t calls = 0;
  std::uint64_t expired_workspaces = 0;       // deleted by idle_ttl since start
  std::uint64_t messages_rate_limited = 0;    // messages and frame batches refused (rate)
  std::uint64_t bytes_rate_limited = 0;       // of those, refused by bytes_per_second
  std::uint64_t rate_limit_closes = 0;        // connections closed 1008 for going on
  std::uint64_t workspaces_rate_limited = 0;  // creates refused by workspaces_per_ip_per_hour
  std::size_t pin_hashes_in_flight = 0;       // HashPin/VerifyPin asked for, not yet Completed
  std::size_t pin_workspaces_slow_lane = 0;   // workspaces whose PIN checks are in the slow lane
  std::uint64_t pin_checks_refused_busy = 0;  // by the per-address or server-wide hash bound
  std::uint64_t pin_checks_refused_workspace = 0;  // by the per-workspace cap (the slow lane)
  /// Entries of the PIN limits' state: (address, workspace) failure counts, workspaces' guards
  /// and the addresses they remember (for tests of its pruning).
  std::size_t pin_tracked_entries = 0;
};

/// Owns all workspace, attendee and call state. Not thread-safe: one strand calls it.
/// `tokens` and `random` must outlive the Engine.
class Engine {
 public:
  Engine(EngineOptions options, const TokenCodec& tokens, RandomSource& random);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Rebuilds state from a store snapshot: every attendee offline, a fresh grace period
  /// from `now`, rings dropped. Returns the timers to arm.
  Effects restore(const Snapshot& snapshot, TimePoint now);

  /// The one entry point: apply an event, return what must happen, in order.
  Effects handle(const Event& event, TimePoint now);

  EngineStats stats() const;

  /// Every workspace as a store holds it after the changes persisted so far: the records
  /// restore() takes. Timers, connections and rings are not part of it.
  Snapshot snapshot() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ws::core
