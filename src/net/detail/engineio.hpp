// Engine.IO (v3, v4) and Socket.IO packet codec for the /socket.io/ transport (PROTOCOL.md §7).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/server.hpp"

namespace ws::net::detail::eio {

/// Engine.IO protocol revision: 3 (socket.io v2 clients) or 4 (socket.io v3/v4 clients).
enum class Version { k3, k4 };

/// Version of a Socket.IO transport (kEio3 -> k3, anything else -> k4).
Version version_of(Transport transport);

/// What the session must do with one inbound text frame.
struct Inbound {
  enum class Kind {
    kEvent,       // `text` is the Socket.IO EVENT packet for the app: "2[...]" or "2<id>[...]"
    kPong,        // v4: the client answered our ping
    kConnect,     // v4: the client connects to "/": answer connect_ack()
    kDisconnect,  // the client left (Engine.IO close `1` or Socket.IO `41`): close normally
    kReply,       // send `text` back (an answer to a v3 ping, an error packet) and carry on
    kIgnore,      // nothing to do (noop, upgrade, client acks, a second connect in v3)
    kFail,        // a protocol violation: send `text` when not empty, then close (`cause`)
  };
  Kind kind = Kind::kIgnore;
  std::string text;
  std::string cause;  // kFail: why, for the close reason and the logs
};

/// Classifies one Engine.IO text packet. `connected`: the client already connected to "/"
/// (v3 connects by itself at open). Pure; never throws on any input.
Inbound decode(std::string_view packet, Version version, bool connected);

/// The open packet `0{"sid":..,"upgrades":[],"pingInterval":..,"pingTimeout":..[,"maxPayload":..]}`
/// (no maxPayload in v3).
std::string open_packet(std::string_view sid, Version version, std::chrono::milliseconds interval,
                        std::chrono::milliseconds timeout, std::size_t max_payload);

/// The Socket.IO CONNECT for "/": `40{"sid":"<sid>"}` in v4, `40` in v3.
std::string connect_packet(std::string_view sid, Version version);

/// The Socket.IO DISCONNECT for "/": `41`.
inline constexpr std::string_view kDisconnectPacket = "41";
/// The Engine.IO ping (v4, server to client): `2`.
inline constexpr std::string_view kPingPacket = "2";

/// A Socket.IO ERROR / CONNECT_ERROR for namespace `nsp`: `44<nsp,>{"message":"..."}` in v4,
/// `44<nsp,>"..."` in v3 (the namespace prefix is left out for "/"). `message` is fixed text.
std::string error_packet(Version version, std::string_view nsp, std::string_view message);

/// Whether a server close with `code` is one the client must not retry blindly (PROTOCOL.md
/// §7: full 4001, replaced 4002, kicked 4003, and policy 1008), so `41` goes out before it.
bool is_final_close(std::uint16_t code);

/// A fresh random Engine.IO session id (20 characters of [A-Za-z0-9_-]). Thread-safe.
std::string make_sid();

}  // namespace ws::net::detail::eio
