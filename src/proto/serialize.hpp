// Encodes server messages for the wire: native frames and Socket.IO packets.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "core/messages.hpp"

namespace ws::proto {

/// The native frame `{"event":"<name>","data":<data>,"re":<re>}` (PROTOCOL.md §2): `re` is
/// left out when null; `data` is always there (`{}` when null). Pure, thread-safe.
std::string serialize(const core::ServerMessage& msg);

/// The Socket.IO v4 packet (PROTOCOL.md §7): the EVENT `42["<event>",<data>]`, or, when
/// `as_ack` and `re` is a non-negative integer, the ACK `43<re>["<event>",<data>]`.
/// `data` is `{}` when null, as in serialize(). Pure, thread-safe.
std::string serialize_socketio(const core::ServerMessage& msg, bool as_ack);

}  // namespace ws::proto
