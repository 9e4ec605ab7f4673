// Encodes server messages: the envelope is written directly around the serialised data.
#include "proto/serialize.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "proto/names.hpp"

namespace ws::proto {
namespace {

namespace json = boost::json;

/// `"text"`: keys and event names are plain ASCII without quotes or backslashes (names.hpp),
/// so they need no escaping.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

/// Appends `"key":json_text`.
void append_member(std::string& out, std::string_view key, std::string_view json_text) {
  out += quoted(key);
  out += ':';
  out += json_text;
}

/// Clients may always read fields of `data`: a null payload goes out as `{}`.
std::string data_text(const json::value& data) {
  return data.is_null() ? std::string("{}") : json::serialize(data);
}

/// A Socket.IO ack id: a non-negative integer.
std::optional<std::uint64_t> ack_id(const json::value& re) {
  if (re.is_uint64()) return re.get_uint64();
  if (re.is_int64() && re.get_int64() >= 0) return static_cast<std::uint64_t>(re.get_int64());
  return std::nullopt;
}

}  // namespace

std::string serialize(const core::ServerMessage& msg) {
  std::string out = "{";
  append_member(out, key::kEvent, quoted(name(msg.event)));
  out += ',';
  append_member(out, key::kData, data_text(msg.data));
  if (!msg.re.is_null()) {
    out += ',';
    append_member(out, key::kRe, json::serialize(msg.re));
  }
  out += '}';
  return out;
}

std::string serialize_socketio(const core::ServerMessage& msg, bool as_ack) {
  const auto ack = as_ack ? ack_id(msg.re) : std::nullopt;
  std::string out = ack ? "43" + std::to_string(*ack) : std::string("42");
  out += '[';
  out += quoted(name(msg.event));
  out += ',';
  out += data_text(msg.data);
  out += ']';
  return out;
}

}  // namespace ws::proto
