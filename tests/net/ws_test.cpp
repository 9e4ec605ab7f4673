// WebSocket sessions over real sockets: echo, close codes, liveness, back-pressure, shutdown.
#include <atomic>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "net/detail/ws_frames.hpp"
#include "net/metrics.hpp"
#include "net/net_test_support.hpp"

namespace ws::net::test {
namespace {

const std::string kUpgradeRequest =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

TEST(WebSocket, EchoesTextAndReportsOpenTextClose) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  EXPECT_EQ(client.handshake_response()[http::field::server], "workspaces/1.2.3-test");
  ASSERT_FALSE(client.write("hello"));
  auto r = client.read();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.data, "hello");
  EXPECT_TRUE(r.text);
  ASSERT_FALSE(client.close());
  ASSERT_TRUE(h.handler().wait_closes(1));

  const auto conn = h.handler().last_connection();
  const std::string id = std::to_string(conn->id().value);
  EXPECT_EQ(h.handler().events(),
            (std::vector<std::string>{"open " + id, "text " + id, "close " + id}));
  EXPECT_EQ(h.handler().peer_ips(), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(conn->transport(), Transport::kNative);
  EXPECT_TRUE(h.wait_connection_count(0));
}

TEST(WebSocket, ConnIdsAreDistinctAndIncreasing) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient a, b;
  ASSERT_FALSE(a.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  const auto first = h.handler().last_connection()->id();
  ASSERT_FALSE(b.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(2));
  const auto second = h.handler().last_connection()->id();
  EXPECT_GE(first.value, 1u);
  EXPECT_GT(second.value, first.value);
  EXPECT_EQ(h.server().connection_count(), 2u);
}

TEST(WebSocket, CompressionIsNotNegotiated) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  websocket::permessage_deflate offer;
  offer.client_enable = true;
  client.stream().set_option(offer);
  ASSERT_FALSE(client.connect(h.port()));
  EXPECT_EQ(client.handshake_response().count(http::field::sec_websocket_extensions), 0u);
}

TEST(WebSocket, BinaryMessageGoesToOnBinaryAndTheConnectionStays) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("\x01\x02", true));
  ASSERT_TRUE(h.handler().wait([](const RecordingHandler& r) { return r.binaries_ == 1; }));
  ASSERT_FALSE(client.write("after"));
  EXPECT_EQ(client.read().data, "after");
  EXPECT_EQ(h.handler().closes(), 0);
}

TEST(WebSocket, MessageAtTheLimitPassesOneOverClosesWith1009) {
  ServerOptions options = test_options();
  options.max_frame_bytes = 1024;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write(std::string(1024, 'a')));
  EXPECT_EQ(client.read().data.size(), 1024u);

  ASSERT_FALSE(client.write(std::string(1025, 'a')));
  auto r = client.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(client.reason().code, websocket::close_code::too_big);
  EXPECT_TRUE(h.handler().wait_closes(1));
}

TEST(WebSocket, InvalidUtf8ClosesWith1007) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("ok \xff\xfe"));  // Beast does not validate what it sends
  auto r = client.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(client.reason().code, websocket::close_code::bad_payload);
  EXPECT_TRUE(h.handler().wait_closes(1));
  EXPECT_TRUE(h.handler().texts().empty());
}

TEST(WebSocket, CloseArrivesAfterPreviouslyQueuedFrames) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  h.handler().on_text_hook = [](Connection& conn, const std::string&) {
    conn.send(frame("kicked-event"));
    conn.close(4003, "kicked");
    conn.send(frame("after close: never sent"));
  };
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("kick me"));
  auto first = client.read();
  ASSERT_FALSE(first.ec) << first.ec.message();
  EXPECT_EQ(first.data, "kicked-event");
  auto second = client.read();
  EXPECT_EQ(second.ec, websocket::error::closed) << second.ec.message();
  EXPECT_EQ(client.reason().code, 4003);
  EXPECT_EQ(client.reason().reason, "kicked");
  EXPECT_TRUE(h.handler().wait_closes(1));
  EXPECT_TRUE(h.wait_connection_count(0));
}

TEST(WebSocket, UnsendableCloseCodeBecomes1011AndLongReasonIsCut) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  h.handler().on_text_hook = [](Connection& conn, const std::string&) {
    conn.close(1006, std::string(200, 'r'));  // 1006 must never be sent (RFC 6455 §7.4.1)
  };
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("close me"));
  auto r = client.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(client.reason().code, websocket::close_code::internal_error);
  EXPECT_EQ(client.reason().reason.size(), 123u);
}

TEST(WebSocket, ClientThatAnswersPingsStaysConnected) {
  ServerOptions options = test_options();
  options.ping_interval = 100ms;
  options.ping_timeout = 100ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  WsClient client;
  std::atomic<int> pings{0};
  client.stream().control_callback([&pings](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  ASSERT_FALSE(client.connect(h.port()));

  // Keep a read pending (Beast answers pings while reading) for several ping periods.
  beast::flat_buffer buffer;
  std::optional<error_code> read_result;
  client.stream().async_read(buffer, [&](error_code ec, std::size_t) { read_result = ec; });
  auto& ioc = client.io().ioc;
  ioc.restart();
  ioc.run_for(700ms);
  EXPECT_FALSE(read_result.has_value()) << "server closed: " << read_result->message();
  EXPECT_GE(pings.load(), 3);
  EXPECT_EQ(h.handler().closes(), 0);

  // Still usable: an echo completes the pending read.
  const std::string text = "still here";
  client.stream().async_write(asio::buffer(text), [](error_code, std::size_t) {});
  const auto deadline = Clock::now() + kIo;
  while (!read_result && ioc.run_one_until(deadline) > 0) {
  }
  ASSERT_TRUE(read_result.has_value());
  EXPECT_FALSE(*read_result);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), text);
}

TEST(WebSocket, PeerThatNeverAnswersPingsIsDropped) {
  ServerOptions options = test_options();
  options.ping_interval = 200ms;
  options.ping_timeout = 200ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;  // performs the handshake by hand and never sends a pong
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest));
  std::string data;
  while (data.find("\r\n\r\n") == std::string::npos) {
    ASSERT_FALSE(raw.read_some(data)) << data;
  }
  const auto opened = Clock::now();
  ASSERT_TRUE(data.starts_with("HTTP/1.1 101")) << data;
  std::string frames = data.substr(data.find("\r\n\r\n") + 4);

  const auto ec = raw.read_until_closed(frames, 200ms + 200ms + kSlack + 1s);
  const auto elapsed = since(opened);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(frames[0]), 0x89);  // FIN + ping
  EXPECT_EQ(static_cast<unsigned char>(frames[1]), 0x00);  // unmasked, empty payload
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LE(elapsed, 400ms + kSlack);
  EXPECT_TRUE(h.handler().wait_closes(1));
  EXPECT_TRUE(h.wait_connection_count(0));
}

/// A client frame as browsers send it: FIN, masked.
std::string masked_frame(unsigned opcode, std::string_view payload, bool mask = true) {
  std::string out{static_cast<char>(0x80 | opcode)};
  const char mask_bit = mask ? static_cast<char>(0x80) : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | payload.size()));
  } else {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  if (mask) out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ (mask ? key[i % 4] : 0)));
  }
  return out;
}

/// Reads until `out` holds at least `n` bytes after the 101 answer; returns those bytes.
std::string read_after_handshake(RawClient& raw, std::string& data, std::size_t n) {
  for (;;) {
    const auto end = data.find("\r\n\r\n");
    if (end != std::string::npos && data.size() - end - 4 >= n) return data.substr(end + 4);
    if (raw.read_some(data)) return data.substr(end == std::string::npos ? 0 : end + 4);
  }
}

TEST(WebSocket, FramesSentWithTheUpgradeRequestAreRead) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest + masked_frame(0x1, "early")));  // one write
  std::string data;
  const std::string frames = read_after_handshake(raw, data, 7);
  ASSERT_TRUE(data.starts_with("HTTP/1.1 101")) << data;
  EXPECT_EQ(frames, std::string("\x81\x05", 2) + "early");
}

TEST(WebSocket, ManyFramesInOneWriteAreEchoedInOrder) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest));
  std::string burst, expected;
  for (int i = 0; i < 500; ++i) {
    const std::string text = "message " + std::to_string(i) + std::string(i % 300, '.');
    burst += masked_frame(0x1, text);
    detail::append_frame(expected, detail::WsOpcode::kText, text);
  }
  ASSERT_FALSE(raw.write(burst));
  std::string data;
  EXPECT_TRUE(read_after_handshake(raw, data, expected.size()) == expected);
  EXPECT_EQ(h.handler().texts().size(), 500u);
}

TEST(WebSocket, APingIsAnsweredWithAPongCarryingItsPayload) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest + masked_frame(0x9, "are you there")));
  std::string data;
  EXPECT_EQ(read_after_handshake(raw, data, 15), std::string("\x8a\x0d"
                                                             "are you there",
                                                             15));
}

TEST(WebSocket, APeerThatPingsAndNeverReadsIsDroppedAtTheQueueBound) {
  // issue 16 item 1: pongs count against max_queue_bytes like every other frame we queue.
  ServerOptions options = test_options();
  options.max_queue_bytes = 64 * 1024;
  options.ping_interval = 0ms;  // no liveness timer: only the queue bound can end it
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest));
  ASSERT_TRUE(h.handler().wait_opens(1));
  std::string pings;
  for (int i = 0; i < 512; ++i) pings += masked_frame(0x9, std::string(125, 'p'));
  // Far more pongs than the socket buffers and the bound hold together (64 MiB of pings).
  std::size_t written = 0;
  while (written < (64u << 20) && h.handler().closes() == 0) {
    if (raw.write(pings)) break;  // the server dropped us
    written += pings.size();
  }
  EXPECT_TRUE(h.handler().wait_closes(1)) << "wrote " << written << " bytes of pings";
  EXPECT_TRUE(h.wait_connection_count(0));
}

TEST(WebSocket, EveryFrameReachesTheAppCountedOnceWithAMessageOrInABatch) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  // A ping, a pong, an empty fragment, its end with a message, then a lone ping.
  std::string frag{static_cast<char>(0x01), static_cast<char>(0x80 | 2), 0, 0, 0, 0, 'h', 'i'};
  std::string empty_cont{static_cast<char>(0x00), static_cast<char>(0x80), 0, 0, 0, 0};
  const std::string frames = masked_frame(0x9, "a") + masked_frame(0xA, "") + frag + empty_cont +
                             masked_frame(0x0, "!") + masked_frame(0x9, "b");
  ASSERT_FALSE(raw.write(kUpgradeRequest + frames));
  ASSERT_TRUE(h.handler().wait([](const auto& hh) { return hh.texts_.size() == 1; }));
  ASSERT_TRUE(h.handler().wait([](const auto& hh) { return hh.counted_.frames == 6; }));
  EXPECT_EQ(h.handler().texts(), std::vector<std::string>{"hi!"});
  EXPECT_EQ(h.handler().counted().bytes, frames.size());
}

TEST(WebSocket, AnUnmaskedFrameClosesWith1002WithoutReachingTheApp) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write(kUpgradeRequest + masked_frame(0x1, "unmasked", false)));
  std::string data;
  const std::string close = read_after_handshake(raw, data, 4);
  EXPECT_EQ(close, std::string("\x88\x02\x03\xea", 4));  // close 1002
  std::string rest;
  EXPECT_TRUE(is_closed(raw.read_until_closed(rest))) << "the server shut down its side";
  raw.stream().close();  // else the server waits for our end up to handshake_timeout
  EXPECT_TRUE(h.handler().wait_closes(1));
  EXPECT_TRUE(h.handler().texts().empty());
}

TEST(WebSocket, SlowReaderOverTheQueueLimitIsDropped) {
  ServerOptions options = test_options();
  options.max_queue_bytes = 256 * 1024;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  WsClient client;  // connects, then never reads
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  auto conn = h.handler().last_connection();

  // Paced sends: the socket buffers fill first, then the queue grows past the limit.
  const auto payload = frame(std::string(64 * 1024, 'x'));
  std::size_t sent = 0;
  const auto deadline = Clock::now() + 10s;
  while (h.handler().closes() == 0 && Clock::now() < deadline) {
    conn->send(payload);
    sent += payload->size();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(h.handler().closes(), 1) << "sent " << sent << " bytes without a drop";
  EXPECT_GT(sent, options.max_queue_bytes);
  EXPECT_TRUE(h.wait_connection_count(0));
  conn->send(payload);  // harmless after the close
  conn->close(1000, "late");
}

TEST(WebSocket, CloseToAPeerThatStoppedReadingIsBoundedByHandshakeTimeout) {
  ServerOptions options = test_options();
  options.handshake_timeout = 300ms;
  options.max_queue_bytes = 64u << 20;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  WsClient client;  // never reads: the queue cannot drain, so the close frame cannot go out
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  auto conn = h.handler().last_connection();
  const auto payload = frame(std::string(64 * 1024, 'x'));
  for (int i = 0; i < 512; ++i) conn->send(payload);  // 32 MiB: more than socket buffers hold
  const auto start = Clock::now();
  conn->close(4003, "kicked");
  ASSERT_TRUE(h.handler().wait_closes(1));
  EXPECT_GE(since(start), 250ms);
  EXPECT_LE(since(start), 300ms + kSlack);
}

TEST(WebSocket, BurstWithinTheQueueLimitIsDeliveredInOrder) {
  ServerOptions options = test_options();
  options.max_queue_bytes = 64 * 1024;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  h.handler().on_text_hook = [](Connection& conn, const std::string&) {
    for (int i = 0; i < 30; ++i) conn.send(frame(std::to_string(i) + std::string(2000, '.')));
  };
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("burst"));
  for (int i = 0; i < 30; ++i) {
    auto r = client.read();
    ASSERT_FALSE(r.ec) << i << ": " << r.ec.message();
    EXPECT_TRUE(r.data.starts_with(std::to_string(i) + ".")) << i;
  }
  EXPECT_EQ(h.handler().closes(), 0);
}

TEST(WebSocket, MessagesOfEveryLengthEncodingArriveIntact) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  const std::vector<std::size_t> sizes = {0, 1, 125, 126, 127, 65535, 65536, 200000};
  h.handler().on_text_hook = [&](Connection& conn, const std::string&) {
    for (std::size_t n : sizes) conn.send(frame(std::string(n, static_cast<char>('a' + n % 26))));
  };
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("sizes"));
  for (std::size_t n : sizes) {
    auto r = client.read();
    ASSERT_FALSE(r.ec) << n << ": " << r.ec.message();
    EXPECT_EQ(r.data, std::string(n, static_cast<char>('a' + n % 26))) << n;
  }
}

TEST(WebSocket, CloseAllClosesEveryConnectionWithTheCode) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient a, b;
  ASSERT_FALSE(a.connect(h.port()));
  ASSERT_FALSE(b.connect(h.port()));
  ASSERT_TRUE(h.wait_connection_count(2));
  h.server().close_all(1012, "service restart");
  for (WsClient* c : {&a, &b}) {
    auto r = c->read();
    EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
    EXPECT_EQ(c->reason().code, websocket::close_code::service_restart);
  }
  EXPECT_TRUE(h.handler().wait_closes(2));
  EXPECT_TRUE(h.wait_connection_count(0));
}

TEST(WebSocket, StopAcceptingKeepsServingOpenConnections) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  h.server().stop_accepting();
  ASSERT_FALSE(client.write("still served"));
  EXPECT_EQ(client.read().data, "still served");
}

TEST(WebSocket, AbruptDisconnectReportsOnCloseExactlyOnce) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  auto conn = h.handler().last_connection();
  client.lowest().close();  // no close frame
  ASSERT_TRUE(h.handler().wait_closes(1));
  conn->send(frame("to nobody"));
  conn->close(1000, "again");
  EXPECT_TRUE(h.wait_connection_count(0));
  EXPECT_EQ(h.handler().closes(), 1);
}

TEST(WebSocket, MetricsCountOpenConnections) {
  Metrics metrics;
  ServerOptions options = test_options();
  options.metrics = &metrics;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  const std::string open_one = "workspaces_connections_open{transport=\"native\"} 1\n";
  const std::string open_none = "workspaces_connections_open{transport=\"native\"} 0\n";
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  EXPECT_NE(metrics.render({}).find(open_one), std::string::npos);
  ASSERT_FALSE(client.close());
  ASSERT_TRUE(h.handler().wait_closes(1));
  EXPECT_NE(metrics.render({}).find(open_none), std::string::npos);
}

TEST(WebSocket, SendFromManyThreadsIsSafe) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  WsClient client;
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_TRUE(h.handler().wait_opens(1));
  auto conn = h.handler().last_connection();
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([conn, t] {
      for (int i = 0; i < 25; ++i) conn->send(frame("t" + std::to_string(t)));
    });
  }
  for (auto& s : senders) s.join();
  for (int i = 0; i < 100; ++i) {
    auto r = client.read();
    ASSERT_FALSE(r.ec) << i << ": " << r.ec.message();
  }
}

}  // namespace
}  // namespace ws::net::test
