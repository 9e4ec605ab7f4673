// Engine.IO / Socket.IO packet codec: every inbound packet kind per version, and the packets
// the server writes (PROTOCOL.md §7).
#include "net/detail/engineio.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace ws::net::detail::eio {
namespace {

using namespace std::chrono_literals;
using Kind = Inbound::Kind;

std::string show(Kind kind) {
  switch (kind) {
    case Kind::kEvent:
      return "event";
    case Kind::kPong:
      return "pong";
    case Kind::kConnect:
      return "connect";
    case Kind::kDisconnect:
      return "disconnect";
    case Kind::kReply:
      return "reply";
    case Kind::kIgnore:
      return "ignore";
    case Kind::kFail:
      return "fail";
  }
  return "?";
}

struct Case {
  std::string name;
  std::string packet;
  Version version;
  bool connected;
  Kind want;
  std::string want_text;  // the event or reply packet; for kFail the error packet (or empty)
};

TEST(EngineIoDecode, ClassifiesEveryPacketKind) {
  const Case cases[] = {
      {"v4 event to the app", R"(42["create",{}])", Version::k4, true, Kind::kEvent,
       R"(2["create",{}])"},
      {"v4 event with ack id", R"(4217["attend",{}])", Version::k4, true, Kind::kEvent,
       R"(217["attend",{}])"},
      {"explicit root namespace is stripped", R"(42/,["x"])", Version::k4, true, Kind::kEvent,
       R"(2["x"])"},
      {"v3 event with ack id", R"(423["ring",{}])", Version::k3, true, Kind::kEvent,
       R"(23["ring",{}])"},
      {"bad JSON still goes to the app", "42[bad", Version::k4, true, Kind::kEvent, "2[bad"},
      {"v4 event before connect", R"(42["x"])", Version::k4, false, Kind::kReply,
       R"(44{"message":"connect to the namespace first"})"},
      {"v4 pong", "3", Version::k4, true, Kind::kPong, ""},
      {"v3 pong is ignored", "3", Version::k3, true, Kind::kIgnore, ""},
      {"v3 ping answered", "2", Version::k3, true, Kind::kReply, "3"},
      {"v3 probe answered", "2probe", Version::k3, true, Kind::kReply, "3probe"},
      {"v4 ping from client is a violation", "2", Version::k4, true, Kind::kFail, ""},
      {"v4 connect", "40", Version::k4, false, Kind::kConnect, ""},
      {"v4 connect with auth", R"(40{"token":"x"})", Version::k4, false, Kind::kConnect, ""},
      {"v3 connect to root is ignored", "40", Version::k3, true, Kind::kIgnore, ""},
      {"v4 other namespace", "40/admin,", Version::k4, false, Kind::kReply,
       R"(44/admin,{"message":"Invalid namespace"})"},
      {"v3 other namespace", "40/admin", Version::k3, true, Kind::kReply,
       R"(44/admin,"Invalid namespace")"},
      {"event on other namespace", R"(42/admin,["x"])", Version::k4, true, Kind::kReply,
       R"(44/admin,{"message":"Invalid namespace"})"},
      {"namespace with quotes is sanitised", R"(40/a"b,)", Version::k4, false, Kind::kReply,
       R"(44/a_b,{"message":"Invalid namespace"})"},
      {"socket.io disconnect", "41", Version::k4, true, Kind::kDisconnect, ""},
      {"engine.io close", "1", Version::k3, true, Kind::kDisconnect, ""},
      {"noop", "6", Version::k4, true, Kind::kIgnore, ""},
      {"upgrade", "5", Version::k4, true, Kind::kIgnore, ""},
      {"client ack", R"(431["x"])", Version::k4, true, Kind::kIgnore, ""},
      {"binary event", R"(451-["x",{"_placeholder":true,"num":0}])", Version::k4, true, Kind::kFail,
       R"(44{"message":"binary attachments are not supported"})"},
      {"binary ack", R"(461-["x"])", Version::k3, true, Kind::kFail,
       R"(44"binary attachments are not supported")"},
      {"client error packet", R"(44{"message":"x"})", Version::k4, true, Kind::kFail, ""},
      {"unknown socket.io type", "49", Version::k4, true, Kind::kFail, ""},
      {"empty message", "4", Version::k4, true, Kind::kFail, ""},
      {"unknown engine.io type", "9", Version::k4, true, Kind::kFail, ""},
      {"letter as type", "x", Version::k3, true, Kind::kFail, ""},
      {"client open", "0{}", Version::k4, true, Kind::kFail, ""},
      {"empty packet", "", Version::k4, true, Kind::kFail, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Inbound in = decode(c.packet, c.version, c.connected);
    EXPECT_EQ(show(in.kind), show(c.want));
    EXPECT_EQ(in.text, c.want_text);
    if (c.want == Kind::kFail) EXPECT_FALSE(in.cause.empty());
  }
}

TEST(EngineIoPackets, OpenPacketCarriesTimersAndMaxPayloadOnlyInV4) {
  EXPECT_EQ(open_packet("abc", Version::k4, 25000ms, 20000ms, 65536),
            R"(0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,)"
            R"("maxPayload":65536})");
  EXPECT_EQ(open_packet("abc", Version::k3, 100ms, 50ms, 65536),
            R"(0{"sid":"abc","upgrades":[],"pingInterval":100,"pingTimeout":50})");
}

TEST(EngineIoPackets, ConnectPacketHasTheSidOnlyInV4) {
  EXPECT_EQ(connect_packet("abc", Version::k4), R"(40{"sid":"abc"})");
  EXPECT_EQ(connect_packet("abc", Version::k3), "40");
}

TEST(EngineIoPackets, FinalClosesAreFullReplacedKickedAndPolicy) {
  for (std::uint16_t code : {4001, 4002, 4003, 1008}) EXPECT_TRUE(is_final_close(code)) << code;
  for (std::uint16_t code : {1000, 1002, 1007, 1009, 1011, 1012})
    EXPECT_FALSE(is_final_close(code)) << code;
}

TEST(EngineIoPackets, SidsAreDistinctAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string sid = make_sid();
    EXPECT_EQ(sid.size(), 20u);
    EXPECT_EQ(
        sid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(sid);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace ws::net::detail::eio
