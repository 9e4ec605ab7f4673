// libFuzzer target for the Engine.IO / Socket.IO packet decoder (net/detail/engineio.hpp,
// PROTOCOL.md §7): every input is decoded as Engine.IO 3 and 4, before and after the client
// connected to "/", and each answer must be what its Kind promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "net/detail/engineio.hpp"

namespace {

namespace json = boost::json;
using namespace ws::net::detail::eio;
using Kind = Inbound::Kind;

void require(bool condition) {
  if (!condition) std::abort();
}

/// A Socket.IO error packet the server may write: `44`, then for another namespace than "/"
/// `<nsp>,` (printable ASCII, no quote, backslash or comma, at most 64 bytes), then
/// `{"message":"..."}` (v4) or `"..."` (v3) as valid JSON.
bool is_error_packet(std::string_view text, Version version) {
  if (!text.starts_with("44")) return false;
  text.remove_prefix(2);
  if (text.starts_with('/')) {
    const std::size_t comma = text.find(',');
    if (comma == std::string_view::npos || comma > 64) return false;
    for (char c : text.substr(0, comma)) {
      if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    text.remove_prefix(comma + 1);
  }
  boost::system::error_code ec;
  const json::value body = json::parse(text, ec);
  if (ec) return false;
  if (version == Version::k3) return body.is_string() && !body.get_string().empty();
  const json::object* object = body.if_object();
  if (!object || object->size() != 1) return false;
  const json::value* message = object->if_contains("message");
  return message && message->is_string() && !message->get_string().empty();
}

/// The Socket.IO type and namespace of an Engine.IO message packet `4<type>[/nsp,]...`.
struct SocketIo {
  char type = 0;
  bool root = true;        // namespace "/" (absent, "/" or "/,")
  std::string_view after;  // what follows the namespace
};

SocketIo socketio_of(std::string_view packet) {
  SocketIo out;
  out.type = packet.size() > 1 ? packet[1] : 0;
  std::string_view rest = packet.size() > 2 ? packet.substr(2) : std::string_view();
  if (rest.starts_with('/')) {
    const std::size_t comma = rest.find(',');
    out.root = rest.substr(0, comma) == "/";
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  out.after = rest;
  return out;
}

void check(std::string_view packet, Version version, bool connected, const Inbound& in) {
  const bool v4 = version == Version::k4;
  // Only a failure has a cause, and a failure always has one.
  require((in.kind == Kind::kFail) == !in.cause.empty());

  if (packet.empty()) {
    require(in.kind == Kind::kFail && in.text.empty());
    return;
  }
  const std::string_view rest = packet.substr(1);
  switch (packet.front()) {
    case '1':
      require(in.kind == Kind::kDisconnect && in.text.empty());
      return;
    case '2':  // a client ping: answered in v3, a protocol violation in v4
      if (v4) {
        require(in.kind == Kind::kFail && in.text.empty());
      } else {
        require(in.kind == Kind::kReply && in.text == "3" + std::string(rest));
      }
      return;
    case '3':
      require(in.kind == (v4 ? Kind::kPong : Kind::kIgnore) && in.text.empty());
      return;
    case '5':
    case '6':
      require(in.kind == Kind::kIgnore && in.text.empty());
      return;
    case '4':
      break;
    default:  // '0' (open) and anything unknown
      require(in.kind == Kind::kFail && in.text.empty());
      return;
  }

  const SocketIo sio = socketio_of(packet);
  switch (in.kind) {
    case Kind::kEvent:
      // The app gets `2<what follows the root namespace>`, unchanged.
      require(sio.type == '2' && sio.root && connected);
      require(in.text == "2" + std::string(sio.after));
      return;
    case Kind::kConnect:
      require(sio.type == '0' && sio.root && v4 && in.text.empty());
      return;
    case Kind::kDisconnect:
      require(sio.type == '1' && sio.root && in.text.empty());
      return;
    case Kind::kReply:
      // Another namespace, or an event before connecting: always an error packet.
      require(sio.type == '0' || sio.type == '2');
      require(!sio.root || (sio.type == '2' && !connected));
      require(is_error_packet(in.text, version));
      return;
    case Kind::kIgnore:
      require(in.text.empty());
      require(sio.type == '3' || (sio.type == '1' && !sio.root) ||
              (sio.type == '0' && sio.root && !v4));
      return;
    case Kind::kFail:
      require(in.text.empty() || is_error_packet(in.text, version));
      require(sio.type != '0' && sio.type != '1' && sio.type != '2' && sio.type != '3');
      return;
    case Kind::kPong:
      require(false);  // only Engine.IO `3`
      return;
  }
  require(false);  // a Kind the checks above do not know
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view packet(reinterpret_cast<const char*>(bytes), size);
  for (Version version : {Version::k3, Version::k4}) {
    const Inbound after = decode(packet, version, true);
    const Inbound before = decode(packet, version, false);
    check(packet, version, true, after);
    check(packet, version, false, before);
    // Connecting only changes what happens to events: before it they get an error reply.
    if (after.kind == Kind::kEvent) {
      require(before.kind == Kind::kReply);
    } else {
      require(before.kind == after.kind && before.text == after.text &&
              before.cause == after.cause);
    }
  }
  return 0;
}
