// Decodes client frames: the envelope by hand, each event's fields through its field table.
#include "proto/parse.hpp"
#include "core/overloaded.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include <boost/json/parse.hpp>

#include "proto/names.hpp"
#include "proto/utf8.hpp"

namespace ws::proto {
namespace {

namespace json = boost::json;
using namespace core;  // errors and the payload types, for compact tables

Error error(ErrorCode code, std::string message, std::string_view field = {}) {
  return Error{code, std::move(message), std::string(field), 0};
}

void append(std::string& out, std::string_view text) {
  out += text;
}
void append(std::string& out, std::size_t number) {
  out += std::to_string(number);
}

/// Builds an error message from fixed text and limits (never from user input).
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (append(out, parts), ...);
  return out;
}

// ---------------- frame level (PROTOCOL.md §2) ----------------

/// Boost.JSON turns out-of-range numbers (1e400) into infinities, which it would write back
/// as the non-JSON `Infinity`; such a frame is refused so every relayed value re-serialises
/// to valid JSON.
bool all_finite(const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_:
      return std::isfinite(value.get_double());
    case json::kind::array:
      for (const json::value& item : value.get_array())
        if (!all_finite(item)) return false;
      return true;
    case json::kind::object:
      for (const auto& member : value.get_object())
        if (!all_finite(member.value())) return false;
      return true;
    default:
      return true;
  }
}

/// Parses the text; Boost.JSON rejects invalid UTF-8 (including escaped lone surrogates),
/// trailing data, comments and nesting deeper than 32 levels (which bounds the recursion of
/// all_finite). Duplicate keys are not refused: the last one wins. The frame must be of
/// `kind` (an object natively, an array for Socket.IO).
std::optional<Error> decode(std::string_view text, json::kind kind, json::value& out) {
  boost::system::error_code ec;
  out = json::parse(text, ec);
  if (ec) return error(ErrorCode::kBadRequest, "frame is not valid JSON");
  if (kind == json::kind::object && !out.is_object())
    return error(ErrorCode::kBadRequest, "frame must be a JSON object");
  if (kind == json::kind::array && !out.is_array())
    return error(ErrorCode::kBadRequest, "event packet must hold a JSON array");
  if (!all_finite(out)) return error(ErrorCode::kBadRequest, "frame has a number out of range");
  return std::nullopt;
}

/// `id` and `nonce`: an integer that fits int64, or a string of at most `max_chars`.
std::optional<json::value> read_tag(const json::value& value, std::size_t max_chars) {
  if (value.is_int64()) return value;
  if (const json::string* text = value.if_string()) {
    const auto length = code_points(*text);
    if (length && *length <= max_chars) return value;
  }
  return std::nullopt;
}

/// `event` and `id` (either may be null: absent); sets `frame_error` (event stays nullopt) when
/// either is bad.
void read_envelope(const json::value* event, const json::value* id, Request& req) {
  std::optional<Error> id_error;
  if (id && !id->is_null()) {
    if (auto tag = read_tag(*id, kMaxIdChars))
      req.id = std::move(*tag);
    else
      id_error =
          error(ErrorCode::kBadRequest,
                concat("id must be an integer or a string of at most ", kMaxIdChars, " characters"),
                key::kId);
  }

  if (!event || !event->is_string()) {
    req.frame_error = error(ErrorCode::kBadRequest, "event must be a string", key::kEvent);
    return;
  }
  // Bounded: the alert echoes it.
  req.event_name = truncate(event->get_string(), kMaxEventNameChars);
  if (id_error) {
    req.frame_error = std::move(id_error);
    return;
  }
  req.event = client_event(event->get_string());
  if (!req.event) req.frame_error = error(ErrorCode::kUnknownEvent, "unknown event");
}

/// Looks a dotted `path` up in `data`: nullptr when it or a parent is absent or null,
/// bad_request naming the parent when a parent is not an object.
Result<const json::value*> find(const json::object& data, std::string_view path) {
  const json::object* object = &data;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = path.find('.', start);
    const json::value* value = object->if_contains(path.substr(start, dot - start));
    if (!value || value->is_null()) return nullptr;
    if (dot == std::string_view::npos) return value;
    object = value->if_object();
    const std::string_view parent = path.substr(0, dot);
    if (!object)
      return tl::unexpected(
          error(ErrorCode::kBadRequest, concat(parent, " must be an object"), parent));
    start = dot + 1;
  }
}

/// An auth token (`accessToken`, `workspace.token`): absent or null gives nullopt, a string
/// its value, anything else counts as present but invalid (answered token_invalid).
void read_token(const json::object& data, std::string_view path, std::optional<std::string>& out,
                bool& invalid_type) {
  const auto found = find(data, path);
  if (!found || !*found) return;  // a non-object parent is reported by the field checks
  if (const json::string* token = (*found)->if_string())
    out = std::string(*token);
  else
    invalid_type = true;
}

Result<json::value> read_nonce(const json::object& data) {
  const json::value* nonce = data.if_contains(key::kNonce);
  if (!nonce || nonce->is_null()) return json::value();
  if (auto tag = read_tag(*nonce, kMaxNonceChars)) return std::move(*tag);
  return tl::unexpected(error(
      ErrorCode::kBadRequest,
      concat("nonce must be an integer or a string of at most ", kMaxNonceChars, " characters"),
      key::kNonce));
}

// ---------------- payload fields (PROTOCOL.md §4) ----------------

/// How a field's value is checked.
enum class Rule {
  kObject,  // a JSON object; listed only when the object itself is required
  kName,    // display name: string of ≤ 64 code points without control characters
  kPin,     // string of ≤ 64 code points
  kAvatar,  // string of ≤ 16 KiB
  kId,      // attendee or call id: non-empty string of ≤ 64 code points
  kFlag,    // boolean
  kOpaque,  // any JSON value but null, relayed untouched (SDP, ICE candidate)
};

enum class Need { kOptional, kRequired };

/// Where payload type P keeps a checked value (monostate: checked, not kept).
template <class P>
using Slot = std::variant<std::monostate, std::optional<std::string> P::*, AttendeeId P::*,
                          CallId P::*, std::optional<CallId> P::*, json::value P::*, bool P::*>;

/// One row of a field table.
template <class P>
struct Field {
  std::string_view path;  // dotted, relative to `data`; also the alert's `field`
  Rule rule;
  Need need;
  Slot<P> slot;
};

/// Rule, requirement and slot agree: optional slots exactly for optional fields, and each
/// rule writes the type its slot holds.
template <class P, std::size_t N>
constexpr bool well_formed(const Field<P> (&fields)[N]) {
  using OptString = std::optional<std::string> P::*;
  using OptCall = std::optional<CallId> P::*;
  for (const Field<P>& f : fields) {
    const Slot<P>& s = f.slot;
    const bool optional =
        std::holds_alternative<OptString>(s) || std::holds_alternative<OptCall>(s);
    bool fits = false;
    switch (f.rule) {
      case Rule::kObject:
        fits = std::holds_alternative<std::monostate>(s);
        break;
      case Rule::kName:
      case Rule::kPin:
      case Rule::kAvatar:
        fits = std::holds_alternative<OptString>(s);
        break;
      case Rule::kId:
        fits = std::holds_alternative<AttendeeId P::*>(s) ||
               std::holds_alternative<CallId P::*>(s) || std::holds_alternative<OptCall>(s);
        break;
      case Rule::kFlag:
        fits = std::holds_alternative<bool P::*>(s);
        break;
      case Rule::kOpaque:
        fits = std::holds_alternative<json::value P::*>(s);
        break;
    }
    if (!fits || (f.rule != Rule::kObject && optional != (f.need == Need::kOptional))) return false;
  }
  return true;
}

constexpr Field<CreateReq> kCreate[] = {
    {"workspace.name", Rule::kName, Need::kOptional, &CreateReq::workspace_name},
    {"workspace.pin", Rule::kPin, Need::kOptional, &CreateReq::workspace_pin},
    {"workspace.avatar", Rule::kAvatar, Need::kOptional, &CreateReq::workspace_avatar},
    {"attendee.name", Rule::kName, Need::kOptional, &CreateReq::attendee_name},
    {"attendee.avatar", Rule::kAvatar, Need::kOptional, &CreateReq::attendee_avatar},
};
constexpr Field<AttendReq> kAttend[] = {
    {"workspace", Rule::kObject, Need::kRequired, {}},  // carries the invite token
    {"workspace.pin", Rule::kPin, Need::kOptional, &AttendReq::pin},
    {"attendee.name", Rule::kName, Need::kOptional, &AttendReq::attendee_name},
    {"attendee.avatar", Rule::kAvatar, Need::kOptional, &AttendReq::attendee_avatar},
};
constexpr Field<KickReq> kKick[] = {
    {"attendee.id", Rule::kId, Need::kRequired, &KickReq::target},
};
constexpr Field<RingReq> kRing[] = {
    {"callee.id", Rule::kId, Need::kRequired, &RingReq::callee},
    {"offer", Rule::kOpaque, Need::kRequired, &RingReq::offer},
    {"call.id", Rule::kId, Need::kOptional, &RingReq::call},
};
constexpr Field<AnswerReq> kAnswer[] = {
    {"caller.id", Rule::kId, Need::kRequired, &AnswerReq::caller},
    {"answer", Rule::kOpaque, Need::kRequired, &AnswerReq::answer},
    {"call.id", Rule::kId, Need::kRequired, &AnswerReq::call},
};
constexpr Field<BusyReq> kBusy[] = {
    {"call.id", Rule::kId, Need::kRequired, &BusyReq::call},
};
constexpr Field<HangupReq> kHangup[] = {
    {"call.id", Rule::kId, Need::kOptional, &HangupReq::call},
};
constexpr Field<IceCandidateReq> kIceCandidate[] = {
    {"attendee.id", Rule::kId, Need::kRequired, &IceCandidateReq::target},
    {"candidate", Rule::kOpaque, Need::kRequired, &IceCandidateReq::candidate},
};
constexpr Field<NegotiationReq> kNegotiation[] = {
    {"attendee.id", Rule::kId, Need::kRequired, &NegotiationReq::target},
    {"message", Rule::kOpaque, Need::kRequired, &NegotiationReq::message},
};
constexpr Field<ToggleReq> kToggle[] = {
    {"state", Rule::kFlag, Need::kRequired, &ToggleReq::state},
};

static_assert(well_formed(kCreate) && well_formed(kAttend) && well_formed(kKick) &&
              well_formed(kRing) && well_formed(kAnswer) && well_formed(kBusy) &&
              well_formed(kHangup) && well_formed(kIceCandidate) && well_formed(kNegotiation) &&
              well_formed(kToggle));

/// A string of at most `max` code points; names also refuse control and bidi override characters.
std::optional<Error> check_text(const json::value& value, std::string_view path, std::size_t max,
                                bool is_name) {
  const std::string must = concat(path, " must be a string of at most ", max, " characters");
  const json::string* text = value.if_string();
  if (!text) return error(ErrorCode::kBadRequest, must, path);
  const auto length = code_points(*text);
  if (!length) return error(ErrorCode::kBadRequest, concat(path, " must be valid UTF-8"), path);
  if (*length > max) return error(ErrorCode::kTooLarge, must, path);
  if (is_name && has_control(*text))
    return error(ErrorCode::kBadRequest, concat(path, " must not contain control characters"),
                 path);
  if (is_name && has_bidi_control(*text))
    return error(ErrorCode::kBadRequest,
                 concat(path,
                        " must not contain bidirectional override or isolate characters "
                        "(U+202A-U+202E, U+2066-U+2069)"),
                 path);
  return std::nullopt;
}

std::optional<Error> check(Rule rule, const json::value& value, std::string_view path) {
  switch (rule) {
    case Rule::kObject:
      if (value.is_object()) return std::nullopt;
      return error(ErrorCode::kBadRequest, concat(path, " must be an object"), path);
    case Rule::kName:
      return check_text(value, path, kMaxNameChars, true);
    case Rule::kPin:
      return check_text(value, path, kMaxPinChars, false);
    case Rule::kAvatar: {
      // Bytes, not characters: avatars are URLs or data URLs (PROTOCOL.md §2).
      const std::string must =
          concat(path, " must be a string of at most ", kMaxAvatarBytes, " bytes");
      const json::string* text = value.if_string();
      if (!text) return error(ErrorCode::kBadRequest, must, path);
      if (text->size() > kMaxAvatarBytes) return error(ErrorCode::kTooLarge, must, path);
      return std::nullopt;
    }
    case Rule::kId: {
      const json::string* text = value.if_string();
      const auto length = text ? code_points(*text) : std::nullopt;
      if (length && *length > 0 && *length <= kMaxIdChars) return std::nullopt;
      return error(
          ErrorCode::kBadRequest,
          concat(path, " must be a non-empty string of at most ", kMaxIdChars, " characters"),
          path);
    }
    case Rule::kFlag:
      if (value.is_bool()) return std::nullopt;
      return error(ErrorCode::kBadRequest, concat(path, " must be a boolean"), path);
    case Rule::kOpaque:
      return std::nullopt;  // null was already treated as absent
  }
  return error(ErrorCode::kInternal, "unknown field rule", path);
}

/// Writes a checked value into its slot. An empty name, PIN or avatar is stored as absent,
/// as the original server's `value || default` did.
template <class P>
void store(const Slot<P>& slot, const json::value& value, P& out) {
  std::visit(Overloaded{
                 [](std::monostate) {},
                 [&](std::optional<std::string> P::*member) {
                   if (!value.get_string().empty()) out.*member = std::string(value.get_string());
                 },
                 [&](AttendeeId P::*member) { (out.*member).value = value.get_string(); },
                 [&](CallId P::*member) { (out.*member).value = value.get_string(); },
                 [&](std::optional<CallId> P::*member) {
                   out.*member = CallId{std::string(value.get_string())};
                 },
                 [&](json::value P::*member) { out.*member = value; },
                 [&](bool P::*member) { out.*member = value.get_bool(); },
             },
             slot);
}

/// Checks `data` against a field table, in table order; the first failure wins. Fields not
/// in the table are ignored.
template <class P>
Result<Payload> read_fields(const json::object& data, std::span<const Field<P>> fields = {}) {
  P out{};
  for (const Field<P>& field : fields) {
    const auto found = find(data, field.path);
    if (!found) return tl::unexpected(found.error());
    if (!*found) {
      if (field.need == Need::kOptional) continue;
      return tl::unexpected(
          error(ErrorCode::kBadRequest, concat(field.path, " is required"), field.path));
    }
    if (auto failure = check(field.rule, **found, field.path)) return tl::unexpected(*failure);
    store(field.slot, **found, out);
  }
  return Payload{std::move(out)};
}

Result<Payload> read_payload(ClientEvent event, const json::object& data) {
  switch (event) {
    case ClientEvent::kIceServers:
      return read_fields<IceServersReq>(data);
    case ClientEvent::kCreate:
      return read_fields<CreateReq>(data, kCreate);
    case ClientEvent::kAttend:
      return read_fields<AttendReq>(data, kAttend);
    case ClientEvent::kReAttend:
      return read_fields<ReAttendReq>(data);
    case ClientEvent::kLeave:
      return read_fields<LeaveReq>(data);
    case ClientEvent::kDestroy:
      return read_fields<DestroyReq>(data);
    case ClientEvent::kKick:
      return read_fields<KickReq>(data, kKick);
    case ClientEvent::kRing:
      return read_fields<RingReq>(data, kRing);
    case ClientEvent::kAnswer:
      return read_fields<AnswerReq>(data, kAnswer);
    case ClientEvent::kBusy:
      return read_fields<BusyReq>(data, kBusy);
    case ClientEvent::kHangup:
      return read_fields<HangupReq>(data, kHangup);
    case ClientEvent::kIceCandidate:
      return read_fields<IceCandidateReq>(data, kIceCandidate);
    case ClientEvent::kNegotiation:
      return read_fields<NegotiationReq>(data, kNegotiation);
    case ClientEvent::kMicToggle:
    case ClientEvent::kCamToggle:
      return read_fields<ToggleReq>(data, kToggle);
    case ClientEvent::kAttendees:
      return read_fields<AttendeesReq>(data);
    case ClientEvent::kRefresh:
      return read_fields<RefreshReq>(data);
  }
  return tl::unexpected(error(ErrorCode::kInternal, "unknown event"));
}

/// The one validation path of both framings: the envelope (`event`, `id`), then `data`, the
/// tokens, the nonce and the event's fields. Each pointer is null when absent.
void read_request(const json::value* event, const json::value* id, const json::value* data_value,
                  Request& req) {
  read_envelope(event, id, req);

  // `data`: absent or null is {}. A non-object `data` is a field error, not a frame error,
  // so that a missing token is still reported first (PROTOCOL.md §2 order of checks); the
  // tokens and the nonce then count as absent.
  const json::object empty;
  const json::object* data =
      !data_value || data_value->is_null() ? &empty : data_value->if_object();
  if (!data) {
    if (!req.frame_error)
      req.payload =
          tl::unexpected(error(ErrorCode::kBadRequest, "data must be an object", key::kData));
    return;
  }

  auto nonce = read_nonce(*data);
  if (nonce) req.nonce = std::move(*nonce);
  read_token(*data, key::kAccessToken, req.access_token, req.access_token_invalid_type);
  if (req.frame_error) return;

  if (req.event == core::ClientEvent::kAttend)
    read_token(*data, key::kInviteToken, req.invite_token, req.invite_token_invalid_type);
  req.payload = nonce ? read_payload(*req.event, *data) : tl::unexpected(std::move(nonce.error()));
}

/// Socket.IO ack ids: decimal digits, at most 15 (below 2^53, so JavaScript clients count
/// them exactly).
constexpr std::size_t kMaxAckIdDigits = 15;

}  // namespace

core::Request parse(std::string_view text) noexcept {
  core::Request req;
  json::value root;
  if (auto failure = decode(text, json::kind::object, root)) {
    req.frame_error = std::move(failure);
    return req;
  }
  const json::object& frame = root.get_object();
  read_request(frame.if_contains(key::kEvent), frame.if_contains(key::kId),
               frame.if_contains(key::kData), req);
  return req;
}

core::Request parse_socketio(std::string_view packet) noexcept {
  core::Request req;
  if (packet.empty() || packet.front() != '2') {
    req.frame_error = error(ErrorCode::kBadRequest, "not a Socket.IO event packet");
    return req;
  }
  packet.remove_prefix(1);

  // The ack id, when present, plays the native `id`: the direct reply becomes the ack.
  std::size_t digits = 0;
  while (digits < packet.size() && packet[digits] >= '0' && packet[digits] <= '9') ++digits;
  json::value ack_id;
  if (digits > kMaxAckIdDigits) {
    req.frame_error = error(ErrorCode::kBadRequest,
                            concat("ack id must have at most ", kMaxAckIdDigits, " digits"));
    return req;
  }
  if (digits > 0) ack_id = std::stoll(std::string(packet.substr(0, digits)));
  packet.remove_prefix(digits);

  json::value root;
  if (auto failure = decode(packet, json::kind::array, root)) {
    req.id = std::move(ack_id);  // answer as the ack even when the payload is bad
    req.frame_error = std::move(failure);
    return req;
  }
  // ["event", data, ...]: further arguments are ignored (the protocol has one payload).
  const json::array& args = root.get_array();
  read_request(args.empty() ? nullptr : &args[0], ack_id.is_null() ? nullptr : &ack_id,
               args.size() > 1 ? &args[1] : nullptr, req);
  return req;
}

}  // namespace ws::proto
