// libFuzzer target for proto::parse and proto::parse_socketio (PROTOCOL.md §2, §4, §7): any
// bytes in, no crash, and the Request's invariants hold: every accepted field is within its
// limits, every alert and relayed value serialises to valid JSON, and a native frame and the
// Socket.IO packet carrying the same event, data and id decode to the same Request.
// Built and run by `make fuzz` (docs/fuzzing.md).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include "core/views.hpp"
#include "proto/parse.hpp"
#include "proto/serialize.hpp"
#include "proto/utf8.hpp"

namespace {

namespace json = boost::json;
using namespace ws;

void require(bool condition) {
  if (!condition) std::abort();
}

/// Whatever the server sends back must be valid JSON.
void require_json(const std::string& text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  require(!ec);
}

/// The value a request relays to another member untouched, if any.
const json::value* opaque(const core::RingReq& r) {
  return &r.offer;
}
const json::value* opaque(const core::AnswerReq& r) {
  return &r.answer;
}
const json::value* opaque(const core::IceCandidateReq& r) {
  return &r.candidate;
}
const json::value* opaque(const core::NegotiationReq& r) {
  return &r.message;
}
const json::value* opaque(const auto&) {
  return nullptr;
}

/// Names and PINs: valid UTF-8 of 1..max code points (an empty one is stored as absent).
void require_text(const std::optional<std::string>& text, std::size_t max, bool is_name) {
  if (!text) return;
  const auto length = proto::code_points(*text);
  require(length && *length >= 1 && *length <= max);
  if (is_name) require(!proto::has_control(*text));
}

void require_avatar(const std::optional<std::string>& avatar) {
  require(!avatar || (!avatar->empty() && avatar->size() <= proto::kMaxAvatarBytes));
}

void require_id(const std::string& id) {
  const auto length = proto::code_points(id);
  require(length && *length >= 1 && *length <= proto::kMaxIdChars);
}

/// PROTOCOL.md §2/§4 limits of an accepted payload, and a JSON description of it.
json::object checked(const core::Payload& payload) {
  return std::visit(
      [](const auto& p) {
        json::object out;
        if constexpr (requires { p.workspace_name; }) {
          require_text(p.workspace_name, proto::kMaxNameChars, true);
          require_text(p.workspace_pin, proto::kMaxPinChars, false);
          require_avatar(p.workspace_avatar);
          out["workspace"] =
              json::array{json::value_from(p.workspace_name), json::value_from(p.workspace_pin),
                          json::value_from(p.workspace_avatar)};
        }
        if constexpr (requires { p.pin; }) {
          require_text(p.pin, proto::kMaxPinChars, false);
          out["pin"] = json::value_from(p.pin);
        }
        if constexpr (requires { p.attendee_name; }) {
          require_text(p.attendee_name, proto::kMaxNameChars, true);
          require_avatar(p.attendee_avatar);
          out["attendee"] =
              json::array{json::value_from(p.attendee_name), json::value_from(p.attendee_avatar)};
        }
        if constexpr (requires { p.target; }) {
          require_id(p.target.value);
          out["target"] = p.target.value;
        }
        if constexpr (requires { p.callee; }) {
          require_id(p.callee.value);
          out["callee"] = p.callee.value;
        }
        if constexpr (requires { p.caller; }) {
          require_id(p.caller.value);
          out["caller"] = p.caller.value;
        }
        if constexpr (requires { p.call.value; }) {
          require_id(p.call.value);
          out["call"] = p.call.value;
        } else if constexpr (requires { p.call; }) {
          if (p.call) require_id(p.call->value);
          out["call"] = p.call ? json::value(p.call->value) : json::value();
        }
        if constexpr (requires { p.state; }) out["state"] = p.state;
        if (const json::value* relayed = opaque(p)) {
          require(!relayed->is_null());
          out["opaque"] = *relayed;
        }
        return out;
      },
      payload);
}

json::value describe(const std::optional<core::Error>& error) {
  if (!error) return nullptr;
  return json::array{core::to_string(error->code), error->message, error->field};
}

/// Everything a Request carries, as JSON, to compare two of them.
std::string describe(const core::Request& req) {
  json::object out;
  out["event"] = req.event ? json::value(static_cast<int>(*req.event)) : json::value();
  out["event_name"] = req.event_name;
  out["id"] = req.id;
  out["nonce"] = req.nonce;
  out["frame_error"] = describe(req.frame_error);
  out["access_token"] = json::value_from(req.access_token);
  out["access_token_invalid_type"] = req.access_token_invalid_type;
  out["invite_token"] = json::value_from(req.invite_token);
  out["invite_token_invalid_type"] = req.invite_token_invalid_type;
  if (req.payload) {
    out["payload"] = json::array{req.payload->index(), checked(*req.payload)};
  } else {
    out["payload_error"] = describe(req.payload.error());
  }
  return json::serialize(out);
}

bool all_finite(const json::value& value) {
  if (value.is_double()) return std::isfinite(value.get_double());
  if (const json::array* array = value.if_array()) {
    for (const json::value& item : *array)
      if (!all_finite(item)) return false;
  }
  if (const json::object* object = value.if_object()) {
    for (const auto& member : *object)
      if (!all_finite(member.value())) return false;
  }
  return true;
}

/// The Socket.IO packet carrying the event, data and id of native frame `text`
/// (`2<id>["<event>",<data>]`), when the frame is an object of finite numbers whose `id`, if
/// any, can be an ack id (a non-negative integer of at most 15 digits).
std::optional<std::string> as_socketio(std::string_view text) {
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec || !root.is_object() || !all_finite(root)) return std::nullopt;
  const json::object& frame = root.get_object();
  std::string packet = "2";
  if (const json::value* id = frame.if_contains("id"); id && !id->is_null()) {
    if (!id->is_int64() || id->get_int64() < 0 || id->get_int64() > 999'999'999'999'999) {
      return std::nullopt;
    }
    packet += std::to_string(id->get_int64());
  }
  json::array args;
  const json::value* event = frame.if_contains("event");
  const json::value* data = frame.if_contains("data");
  if (event || data) args.push_back(event ? *event : json::value());
  if (data) args.push_back(*data);
  return packet + json::serialize(args);
}

}  // namespace

/// The invariants every decoded Request holds, whichever framing it came from.
static void check(const core::Request& req) {
  require(req.event.has_value() == !req.frame_error.has_value());
  require(proto::code_points(req.event_name).value_or(0) <= proto::kMaxEventNameChars);
  require(!(req.access_token && req.access_token_invalid_type));
  require(!(req.invite_token && req.invite_token_invalid_type));
  require(req.id.is_null() || req.id.is_int64() || req.id.is_string());
  require(req.nonce.is_null() || req.nonce.is_int64() || req.nonce.is_string());
  // The invite is only read for `attend`.
  require(req.event == core::ClientEvent::kAttend ||
          (!req.invite_token && !req.invite_token_invalid_type));
  if (req.payload) checked(*req.payload);

  const core::Error error = req.frame_error ? *req.frame_error
                            : req.payload   ? core::Error{core::ErrorCode::kForbidden, "x", "", 0}
                                            : req.payload.error();
  const core::ServerMessage alert = core::views::alert(error, req.event_name, req.nonce, req.id);
  require_json(proto::serialize(alert));
  // As a Socket.IO reply: the ack `43<id>[...]` of a request with an ack id, else `42[...]`.
  const std::string packet = proto::serialize_socketio(alert, true);
  const bool ack = req.id.is_int64() && req.id.get_int64() >= 0;
  const std::string head = ack ? "43" + std::to_string(req.id.get_int64()) : "42";
  require(packet.starts_with(head + "["));
  boost::system::error_code ec;
  const json::value args = json::parse(std::string_view(packet).substr(head.size()), ec);
  require(!ec && args.is_array() && args.get_array().size() == 2);
  if (req.payload) {
    const json::value* relayed = std::visit([](const auto& p) { return opaque(p); }, *req.payload);
    if (relayed) {
      require(!relayed->is_null());
      require_json(proto::serialize({core::ServerEvent::kNegotiation, *relayed, nullptr}));
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  const core::Request native = proto::parse(text);
  check(native);
  // The same bytes as a Socket.IO event packet (PROTOCOL.md §7) share the validation path.
  check(proto::parse_socketio(text));
  // And the same request in either framing decodes alike.
  if (const auto packet = as_socketio(text)) {
    require(describe(proto::parse_socketio(*packet)) == describe(native));
  }
  return 0;
}
