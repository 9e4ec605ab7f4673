// Engine.IO / Socket.IO packet codec: the transport duties of PROTOCOL.md §7, apart from events.
#include "net/detail/engineio.hpp"

#include <random>

namespace ws::net::detail::eio {
namespace {

// Engine.IO packet types (the first character of every packet).
constexpr char kEioOpen = '0';
constexpr char kEioClose = '1';
constexpr char kEioPing = '2';
constexpr char kEioPong = '3';
constexpr char kEioMessage = '4';
constexpr char kEioUpgrade = '5';
constexpr char kEioNoop = '6';

// Socket.IO packet types (the first character of an Engine.IO message).
constexpr char kSioConnect = '0';
constexpr char kSioDisconnect = '1';
constexpr char kSioEvent = '2';
constexpr char kSioAck = '3';
constexpr char kSioError = '4';
constexpr char kSioBinaryEvent = '5';
constexpr char kSioBinaryAck = '6';

constexpr std::string_view kRootNamespace = "/";
constexpr std::string_view kInvalidNamespace = "Invalid namespace";

/// JSON string contents for fixed ASCII text: only quotes and backslashes need escaping.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

Inbound fail(std::string cause, std::string reply = {}) {
  return Inbound{Inbound::Kind::kFail, std::move(reply), std::move(cause)};
}

Inbound reply(std::string text) {
  return Inbound{Inbound::Kind::kReply, std::move(text), {}};
}

Inbound kind(Inbound::Kind k) {
  return Inbound{k, {}, {}};
}

/// Splits the Socket.IO namespace off `rest` (what follows the packet type): "/chat,..." gives
/// "/chat" and "..."; no leading '/' means "/". A namespace is cut at 64 bytes for the reply.
std::string_view take_namespace(std::string_view& rest) {
  if (rest.empty() || rest.front() != '/') return kRootNamespace;
  const std::size_t comma = rest.find(',');
  std::string_view nsp = rest.substr(0, comma);
  rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  return nsp;
}

/// A namespace echoed in an error packet: printable ASCII without quotes or commas, at most
/// 64 bytes, so the reply stays well-formed whatever the client sent.
std::string safe_namespace(std::string_view nsp) {
  std::string out;
  for (char c : nsp.substr(0, 64)) {
    const bool printable = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ',';
    out += printable ? c : '_';
  }
  return out;
}

Inbound decode_socketio(std::string_view packet, Version version, bool connected) {
  if (packet.empty()) return fail("empty Socket.IO packet");
  const char type = packet.front();
  std::string_view rest = packet.substr(1);
  const std::string_view nsp = take_namespace(rest);
  const bool root = nsp == kRootNamespace;
  switch (type) {
    case kSioConnect:
      if (!root) return reply(error_packet(version, safe_namespace(nsp), kInvalidNamespace));
      // v3 connected the client to "/" at open; a v4 CONNECT may carry an auth object, which
      // we ignore: identity comes from the tokens in the events (PROTOCOL.md §3).
      return version == Version::k4 ? kind(Inbound::Kind::kConnect) : kind(Inbound::Kind::kIgnore);
    case kSioDisconnect:
      return root ? kind(Inbound::Kind::kDisconnect) : kind(Inbound::Kind::kIgnore);
    case kSioEvent:
      if (!root) return reply(error_packet(version, safe_namespace(nsp), kInvalidNamespace));
      if (!connected)
        return reply(error_packet(version, kRootNamespace, "connect to the namespace first"));
      return Inbound{Inbound::Kind::kEvent, std::string(1, kSioEvent) + std::string(rest), {}};
    case kSioAck:
      return kind(Inbound::Kind::kIgnore);  // the server never asks for acks
    case kSioBinaryEvent:
    case kSioBinaryAck:
      return fail("binary attachments are not supported",
                  error_packet(version, kRootNamespace, "binary attachments are not supported"));
    case kSioError:
      return fail("a client may not send a Socket.IO error packet");
    default:
      return fail("unknown Socket.IO packet type");
  }
}

}  // namespace

Version version_of(Transport transport) {
  return transport == Transport::kEio3 ? Version::k3 : Version::k4;
}

Inbound decode(std::string_view packet, Version version, bool connected) {
  if (packet.empty()) return fail("empty Engine.IO packet");
  const std::string_view rest = packet.substr(1);
  switch (packet.front()) {
    case kEioMessage:
      return decode_socketio(rest, version, connected);
    case kEioPing:
      // v3: the client pings ("2", or "2probe" while probing) and the server answers in kind.
      // v4 reversed the direction: a ping from the client is a protocol violation.
      if (version == Version::k4) return fail("invalid heartbeat direction");
      return reply(std::string(1, kEioPong) + std::string(rest));
    case kEioPong:
      return version == Version::k4 ? kind(Inbound::Kind::kPong) : kind(Inbound::Kind::kIgnore);
    case kEioClose:
      return kind(Inbound::Kind::kDisconnect);
    case kEioUpgrade:
    case kEioNoop:
      return kind(Inbound::Kind::kIgnore);
    case kEioOpen:
      return fail("a client may not send an Engine.IO open packet");
    default:
      return fail("unknown Engine.IO packet type");
  }
}

std::string open_packet(std::string_view sid, Version version, std::chrono::milliseconds interval,
                        std::chrono::milliseconds timeout, std::size_t max_payload) {
  std::string out = "0{\"sid\":" + json_string(sid) +
                    ",\"upgrades\":[],\"pingInterval\":" + std::to_string(interval.count()) +
                    ",\"pingTimeout\":" + std::to_string(timeout.count());
  if (version == Version::k4) out += ",\"maxPayload\":" + std::to_string(max_payload);
  out += '}';
  return out;
}

std::string connect_packet(std::string_view sid, Version version) {
  if (version == Version::k3) return "40";
  return "40{\"sid\":" + json_string(sid) + "}";
}

std::string error_packet(Version version, std::string_view nsp, std::string_view message) {
  std::string out = "44";
  if (nsp != kRootNamespace) {
    out += nsp;
    out += ',';
  }
  if (version == Version::k4) {
    out += "{\"message\":" + json_string(message) + "}";
  } else {
    out += json_string(message);
  }
  return out;
}

bool is_final_close(std::uint16_t code) {
  return code == 4001 || code == 4002 || code == 4003 || code == 1008;
}

std::string make_sid() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string sid(20, ' ');
  for (char& c : sid) c = kAlphabet[rng() % kAlphabet.size()];
  return sid;
}

}  // namespace ws::net::detail::eio
