// Socket.IO sessions over real sockets: the Engine.IO/Socket.IO duties of the net layer
// (open, connect, heartbeat, 41 before final closes, bad packets) around the app's events.
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "net/net_test_support.hpp"

namespace ws::net::test {
namespace {

constexpr std::string_view kEio4 = "/socket.io/?EIO=4&transport=websocket";
constexpr std::string_view kEio3 = "/socket.io/?EIO=3&transport=websocket";

/// Reads one text message; empty with a failure when none comes.
std::string read_text(WsClient& client, Ms limit = kIo) {
  auto r = client.read(limit);
  EXPECT_FALSE(r.ec) << r.ec.message();
  return r.data;
}

TEST(SocketIoSession, Eio4OpensConnectsAndHandsOnlyEventsToTheApp) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port(), std::string(kEio4)));
  const std::string open = read_text(client);
  ASSERT_TRUE(open.starts_with(R"(0{"sid":")")) << open;
  EXPECT_NE(
      open.find(R"("upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536})"),
      std::string::npos)
      << open;
  const std::string sid = open.substr(9, 20);

  ASSERT_FALSE(client.write("40"));
  EXPECT_EQ(read_text(client), R"(40{"sid":")" + sid + R"("})");
  ASSERT_FALSE(client.write("6"));  // noop: not for the app
  ASSERT_FALSE(client.write(R"(427["create",{}])"));
  EXPECT_EQ(read_text(client), R"(27["create",{}])");  // the recording handler echoes
  EXPECT_EQ(h.handler().texts(), std::vector<std::string>{R"(27["create",{}])"});
  EXPECT_EQ(h.handler().text_transports(), std::vector<Transport>{Transport::kEio4});
  EXPECT_EQ(h.handler().last_connection()->transport(), Transport::kEio4);
}

TEST(SocketIoSession, Eio3ConnectsByItselfAndAnswersClientPings) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port(), std::string(kEio3)));
  const std::string open = read_text(client);
  EXPECT_TRUE(open.starts_with(R"(0{"sid":")")) << open;
  EXPECT_EQ(open.find("maxPayload"), std::string::npos) << open;
  EXPECT_EQ(read_text(client), "40");
  ASSERT_FALSE(client.write("2probe"));
  EXPECT_EQ(read_text(client), "3probe");
  ASSERT_FALSE(client.write("2"));
  EXPECT_EQ(read_text(client), "3");
  ASSERT_FALSE(client.write(R"(42["leave",{}])"));
  EXPECT_EQ(read_text(client), R"(2["leave",{}])");
  EXPECT_EQ(h.handler().text_transports(), std::vector<Transport>{Transport::kEio3});
}

TEST(SocketIoSession, FinalClosesSendDisconnectFirstOthersDoNot) {
  struct Case {
    std::uint16_t code;
    bool disconnect_first;
  };
  for (const Case c : {Case{4003, true}, Case{4001, true}, Case{1008, true}, Case{1012, false}}) {
    SCOPED_TRACE(c.code);
    ServerHarness h;
    ASSERT_TRUE(h.ok());
    WsClient client;
    ASSERT_FALSE(client.connect(h.port(), std::string(kEio4)));
    read_text(client);
    ASSERT_FALSE(client.write("40"));
    read_text(client);
    h.handler().last_connection()->close(c.code, "bye");
    if (c.disconnect_first) EXPECT_EQ(read_text(client), "41");
    auto r = client.read();
    EXPECT_EQ(r.ec, websocket::error::closed) << r.data;
    EXPECT_EQ(client.reason().code, c.code);
  }
}

/// A server pinging every 200 ms with a 200 ms deadline, and a connected EIO=4 client on it.
struct HeartbeatFixture {
  HeartbeatFixture() : h(options()) {
    EXPECT_TRUE(h.ok());
    EXPECT_FALSE(client.connect(h.port(), std::string(kEio4)));
    client.stream().control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) ++ws_pings;
    });
    read_text(client);
    EXPECT_FALSE(client.write("40"));
    read_text(client);
  }
  static ServerOptions options() {
    ServerOptions o = test_options();
    o.ping_interval = 200ms;
    o.ping_timeout = 200ms;
    return o;
  }
  ServerHarness h;
  WsClient client;
  std::atomic<int> ws_pings{0};
};

TEST(SocketIoSession, Eio4ClientThatNeverAnswersThePingIsDropped) {
  HeartbeatFixture f;
  const auto opened = Clock::now();
  EXPECT_EQ(read_text(f.client, 1s), "2");
  auto r = f.client.read(2s);
  EXPECT_TRUE(r.ec) << r.data;
  EXPECT_GE(since(opened), 350ms);
  EXPECT_TRUE(f.h.wait_connection_count(0));
}

TEST(SocketIoSession, Eio4ClientAnsweringPingsStaysWithoutWebSocketPings) {
  HeartbeatFixture f;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(read_text(f.client, 1s), "2");
    ASSERT_FALSE(f.client.write("3"));
  }
  EXPECT_EQ(f.ws_pings.load(), 0) << "no WebSocket ping frames on /socket.io/";
  EXPECT_EQ(f.h.server().connection_count(), 1u);
}

TEST(SocketIoSession, BadPacketsCloseWith1002WithoutReachingTheApp) {
  for (const std::string packet : {"9", "", "4", "49", R"(451-["x"])", "2"}) {
    SCOPED_TRACE(packet);
    ServerHarness h;
    ASSERT_TRUE(h.ok());
    WsClient client;
    ASSERT_FALSE(client.connect(h.port(), std::string(kEio4)));
    read_text(client);
    ASSERT_FALSE(client.write("40"));
    read_text(client);
    ASSERT_FALSE(client.write(packet));
    auto r = client.read();
    if (!r.ec) {
      EXPECT_TRUE(r.data.starts_with("44")) << r.data;  // the error packet before the close
      r = client.read();
    }
    EXPECT_EQ(r.ec, websocket::error::closed);
    EXPECT_EQ(client.reason().code, websocket::close_code::protocol_error);
    EXPECT_TRUE(h.handler().wait_closes(1));
    EXPECT_TRUE(h.handler().texts().empty());
  }
}

}  // namespace
}  // namespace ws::net::test
