// Typed client requests (validated by proto::parse) and server messages (serialised by proto).
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace ws::core {

namespace json = boost::json;

/// Client-to-server events of PROTOCOL.md §4.
enum class ClientEvent {
  kIceServers,
  kCreate,
  kAttend,
  kReAttend,
  kLeave,
  kDestroy,
  kKick,
  kRing,
  kAnswer,
  kBusy,
  kHangup,
  kIceCandidate,
  kNegotiation,
  kMicToggle,
  kCamToggle,
  kAttendees,
  kRefresh,
};

/// Server-to-client events.
enum class ServerEvent {
  kAlert,
  kOk,
  kIceServers,
  kCreated,
  kAttendanceGranted,
  kReAttendanceGranted,
  kAttend,
  kFull,
  kDestroyed,
  kLeave,
  kLeft,
  kKicked,
  kRing,
  kRinging,
  kRingCancelled,
  kAnswer,
  kBusy,
  kHangup,
  kIceCandidate,
  kNegotiation,
  kMicToggle,
  kCamToggle,
  kAttendees,
  kTokenRefreshed,
  kReplaced,
  kServerShutdown,
};

// ---- validated payloads (all limits already checked by proto::parse) ----
struct IceServersReq {};
struct CreateReq {
  std::optional<std::string> workspace_name, workspace_pin, workspace_avatar;
  std::optional<std::string> attendee_name, attendee_avatar;
};
struct AttendReq {
  std::optional<std::string> pin;  // workspace.pin
  std::optional<std::string> attendee_name, attendee_avatar;
};
struct ReAttendReq {};
struct LeaveReq {};
struct DestroyReq {};
struct KickReq {
  AttendeeId target;  // attendee.id
};
struct RingReq {
  AttendeeId callee;           // callee.id
  json::value offer;           // opaque
  std::optional<CallId> call;  // call.id
};
struct AnswerReq {
  AttendeeId caller;   // caller.id
  json::value answer;  // opaque
  CallId call;         // call.id
};
struct BusyReq {
  CallId call;
};
struct HangupReq {
  std::optional<CallId> call;
};
struct IceCandidateReq {
  AttendeeId target;  // attendee.id
  json::value candidate;
};
struct NegotiationReq {
  AttendeeId target;  // attendee.id
  json::value message;
};
struct ToggleReq {
  bool state = false;  // mic-toggle / cam-toggle (which one is Request::event)
};
struct AttendeesReq {};
struct RefreshReq {};

using Payload = std::variant<IceServersReq, CreateReq, AttendReq, ReAttendReq, LeaveReq, DestroyReq,
                             KickReq, RingReq, AnswerReq, BusyReq, HangupReq, IceCandidateReq,
                             NegotiationReq, ToggleReq, AttendeesReq, RefreshReq>;

/// One decoded client frame. Produced by proto::parse from text; never fails as a whole:
/// every problem is recorded so the Engine can answer it in PROTOCOL.md §2's order.
struct Request {
  /// The event when it is known; nullopt when the frame or event name was bad.
  std::optional<ClientEvent> event;
  /// The `event` string as sent when it was a string (for alert.event), else empty.
  std::string event_name;
  /// Client `id` (integer or string), null when absent or unreadable.
  json::value id;
  /// `data.nonce` (string or number), null when absent.
  json::value nonce;
  /// Frame-level problem (bad JSON, not an object, missing/unknown event): answered first.
  std::optional<Error> frame_error;
  /// `data.accessToken`: nullopt when absent; a non-string counts as present but invalid
  /// (`access_token_invalid_type`).
  std::optional<std::string> access_token;
  bool access_token_invalid_type = false;
  /// `data.workspace.token` for `attend` (the invite), same convention.
  std::optional<std::string> invite_token;
  bool invite_token_invalid_type = false;
  /// Field validation result (bad_request / too_large with `field`), checked after auth.
  Result<Payload> payload = fail(ErrorCode::kBadRequest, "empty request");
};

/// One message to a client. `data` is the event's payload; `re` the request id it answers
/// (null for pushed events).
struct ServerMessage {
  ServerEvent event = ServerEvent::kOk;
  json::value data;
  json::value re;
};

}  // namespace ws::core
