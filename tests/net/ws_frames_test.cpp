// FrameParser (what clients send, in pieces of any size), the server's frames, and the
// opening handshake's answer: RFC 6455 §4.2, §5, §7 as a server must apply them.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/field.hpp>

#include "net/detail/ws_frames.hpp"

namespace ws::net::detail {
namespace {

namespace http = boost::beast::http;

struct Opts {
  bool fin = true;
  bool masked = true;
  std::uint8_t rsv = 0;  // bits 0x70
  int length_bytes = 0;  // force 2 (16-bit) or 8 (64-bit) length encoding; 0: minimal
  std::uint64_t claimed_length = UINT64_MAX;  // a length field other than the payload's
};

/// A client frame as a browser sends it: masked with a fixed key.
std::string client_frame(std::uint8_t opcode, std::string_view payload, Opts o = {}) {
  std::string out;
  out.push_back(static_cast<char>((o.fin ? 0x80 : 0) | o.rsv | opcode));
  const std::uint64_t len = o.claimed_length != UINT64_MAX ? o.claimed_length : payload.size();
  const char mask_bit = o.masked ? static_cast<char>(0x80) : 0;
  int bytes = o.length_bytes;
  if (bytes == 0) bytes = len < 126 ? 0 : len <= 0xFFFF ? 2 : 8;
  if (bytes == 0) {
    out.push_back(static_cast<char>(mask_bit | len));
  } else {
    out.push_back(static_cast<char>(mask_bit | (bytes == 2 ? 126 : 127)));
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (o.masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ (o.masked ? key[i % 4] : 0)));
  }
  return out;
}

std::string close_body(std::uint16_t code, std::string_view reason = {}) {
  std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return out.append(reason);
}

class Recorder : public FrameSink {
 public:
  std::vector<std::string> events;
  std::vector<const char*> message_data;                   // where each message's view pointed
  std::vector<std::pair<WsOpcode, std::uint64_t>> frames;  // every on_frame, in order
  void on_frame(WsOpcode opcode, std::uint64_t wire_bytes) override {
    frames.emplace_back(opcode, wire_bytes);
  }
  void on_message(bool text, std::string_view payload) override {
    events.push_back((text ? "text " : "binary ") + std::string(payload));
    message_data.push_back(payload.data());
  }
  void on_ping(std::string_view payload) override {
    events.push_back("ping " + std::string(payload));
  }
  void on_pong() override { events.push_back("pong"); }
  void on_peer_close(std::uint16_t code, std::string_view reason) override {
    events.push_back("close " + std::to_string(code) + " " + std::string(reason));
  }
  void on_violation(std::uint16_t code, std::string_view) override {
    events.push_back("violation " + std::to_string(code));
  }
};

/// Feeds `bytes` in pieces of `piece` bytes (0: all at once).
std::vector<std::string> parse(std::string bytes, std::size_t piece = 0,
                               std::size_t max = 1 << 20) {
  FrameParser parser(max);
  Recorder sink;
  if (piece == 0) piece = bytes.size();
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    parser.feed(bytes.data() + at, std::min(piece, bytes.size() - at), sink);
  }
  return sink.events;
}

using Events = std::vector<std::string>;

TEST(FrameParser, AWholeTextFrameIsUnmaskedAndDeliveredInPlace) {
  std::string bytes = client_frame(0x1, "hello");
  FrameParser parser(1024);
  Recorder sink;
  parser.feed(bytes.data(), bytes.size(), sink);
  EXPECT_EQ(sink.events, Events{"text hello"});
  EXPECT_EQ(sink.message_data[0], bytes.data() + 6) << "no copy: the view is into the input";
  EXPECT_EQ(parser.held_bytes(), 0u);
  EXPECT_FALSE(parser.done());
}

TEST(FrameParser, EveryLengthEncodingAndEverySplitGivesTheSameMessages) {
  std::string bytes;
  Events expected;
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70001u}) {
    std::string payload(n, 'x');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    bytes += client_frame(0x1, payload);
    expected.push_back("text " + payload);
  }
  for (std::size_t piece : {0u, 1u, 2u, 7u, 1000u, 65536u}) {
    EXPECT_EQ(parse(bytes, piece), expected) << "piece " << piece;
  }
}

TEST(FrameParser, FragmentsJoinAndControlFramesMayComeBetweenThem) {
  const std::string bytes =
      client_frame(0x1, "frag", {.fin = false}) + client_frame(0x9, "are you there") +
      client_frame(0x0, "men", {.fin = false}) + client_frame(0xA, "") + client_frame(0x0, "ted") +
      client_frame(0x2, std::string("\xff\x00", 2));
  const Events expected{"ping are you there", "pong", "text fragmented",
                        "binary " + std::string("\xff\x00", 2)};
  EXPECT_EQ(parse(bytes), expected);
  EXPECT_EQ(parse(bytes, 1), expected);
}

TEST(FrameParser, EveryFrameIsCountedWithItsWireBytesEmptyOnesToo) {
  // Data, continuation and control frames alike, each once, whatever the split (PROTOCOL.md
  // §10: every frame a client sends counts against the rate limits).
  const std::string bytes = client_frame(0x1, "ab", {.fin = false}) +
                            client_frame(0x0, "", {.fin = false}) +
                            client_frame(0x9, std::string(125, 'p')) + client_frame(0xA, "") +
                            client_frame(0x0, std::string(200, 'c'));
  using Frames = std::vector<std::pair<WsOpcode, std::uint64_t>>;
  const Frames expected{{WsOpcode::kText, 2 + 4 + 2},
                        {WsOpcode::kContinuation, 2 + 4},
                        {WsOpcode::kPing, 2 + 4 + 125},
                        {WsOpcode::kPong, 2 + 4},
                        {WsOpcode::kContinuation, 4 + 4 + 200}};
  for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
    FrameParser parser(1 << 20);
    Recorder sink;
    std::string copy = bytes;
    const std::size_t step = piece ? piece : copy.size();
    for (std::size_t at = 0; at < copy.size(); at += step) {
      parser.feed(copy.data() + at, std::min(step, copy.size() - at), sink);
    }
    EXPECT_EQ(sink.frames, expected) << "piece " << piece;
    std::uint64_t total = 0;
    for (const auto& f : sink.frames) total += f.second;
    EXPECT_EQ(total, bytes.size()) << "every byte on the wire is in one frame's count";
  }
}

TEST(FrameParser, AFrameRefusedByItsHeaderIsNotCounted) {
  FrameParser parser(1 << 20);
  Recorder sink;
  std::string bytes = client_frame(0x1, "x", {.masked = false});
  parser.feed(bytes.data(), bytes.size(), sink);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(sink.events, Events{"violation 1002"});
}

TEST(FrameParser, APartialFrameIsHeldUntilItCompletesThenReleased) {
  const std::string bytes = client_frame(0x1, std::string(300, 'p'));
  std::string copy = bytes;
  FrameParser parser(1024);
  Recorder sink;
  parser.feed(copy.data(), 100, sink);
  EXPECT_TRUE(sink.events.empty());
  EXPECT_GT(parser.held_bytes(), 0u);
  parser.feed(copy.data() + 100, copy.size() - 100, sink);
  EXPECT_EQ(sink.events, Events{"text " + std::string(300, 'p')});
  EXPECT_EQ(parser.held_bytes(), 0u) << "an idle connection keeps no buffer";
}

TEST(FrameParser, TheMessageLimitCountsAllFragments) {
  EXPECT_EQ(parse(client_frame(0x1, std::string(1024, 'a')), 0, 1024),
            Events{"text " + std::string(1024, 'a')});
  EXPECT_EQ(parse(client_frame(0x1, std::string(1025, 'a')), 0, 1024), Events{"violation 1009"});
  // The header alone is enough to refuse: no byte of the payload is waited for or kept.
  EXPECT_EQ(parse(client_frame(0x2, "", {.claimed_length = 1ull << 40}), 0, 1024),
            Events{"violation 1009"});
  const std::string fragments = client_frame(0x1, std::string(600, 'a'), {.fin = false}) +
                                client_frame(0x0, std::string(600, 'b'));
  EXPECT_EQ(parse(fragments, 0, 1024), Events{"violation 1009"});
}

TEST(FrameParser, ProtocolViolationsAre1002And1007AndStopTheParser) {
  struct Case {
    const char* name;
    std::string bytes;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {"unmasked", client_frame(0x1, "x", {.masked = false}), 1002},
      {"rsv1 (no compression was negotiated)", client_frame(0x1, "x", {.rsv = 0x40}), 1002},
      {"rsv3", client_frame(0x1, "x", {.rsv = 0x10}), 1002},
      {"opcode 3", client_frame(0x3, "x"), 1002},
      {"opcode 0xB", client_frame(0xB, ""), 1002},
      {"fragmented ping", client_frame(0x9, "x", {.fin = false}), 1002},
      {"ping over 125 bytes", client_frame(0x9, std::string(126, 'p')), 1002},
      {"continuation first", client_frame(0x0, "x"), 1002},
      {"text inside a fragmented message",
       client_frame(0x1, "a", {.fin = false}) + client_frame(0x1, "b"), 1002},
      {"16-bit length under 126", client_frame(0x1, "short", {.length_bytes = 2}), 1002},
      {"64-bit length under 65536", client_frame(0x1, "short", {.length_bytes = 8}), 1002},
      {"64-bit length with the top bit", client_frame(0x2, "", {.claimed_length = 1ull << 63}),
       1002},
      {"close of one byte", client_frame(0x8, "\x03"), 1002},
      {"close code 1005", client_frame(0x8, close_body(1005)), 1002},
      {"close code 999", client_frame(0x8, close_body(999)), 1002},
      {"close code 5000", client_frame(0x8, close_body(5000)), 1002},
      {"close reason not UTF-8", client_frame(0x8, close_body(1000, "\xff")), 1007},
      {"text not UTF-8", client_frame(0x1, "ok \xff\xfe"), 1007},
      {"text ending inside a code point", client_frame(0x1, "\xe2\x82"), 1007},
      {"fragment not UTF-8", client_frame(0x1, "ok", {.fin = false}) + client_frame(0x0, "\xc0"),
       1007},
  };
  for (const auto& c : cases) {
    const std::string trailing = client_frame(0x1, "never delivered");
    for (std::size_t piece : {0u, 1u}) {
      EXPECT_EQ(parse(c.bytes + trailing, piece), Events{"violation " + std::to_string(c.code)})
          << c.name << ", piece " << piece;
    }
  }
}

TEST(FrameParser, UnicodeSplitAcrossFragmentsAndReadsIsValid) {
  const std::string euro = "\xe2\x82\xac";
  const std::string bytes = client_frame(0x1, euro.substr(0, 1), {.fin = false}) +
                            client_frame(0x0, euro.substr(1) + euro);
  EXPECT_EQ(parse(bytes), Events{"text " + euro + euro});
  EXPECT_EQ(parse(bytes, 1), Events{"text " + euro + euro});
}

TEST(FrameParser, ACloseFrameEndsParsing) {
  EXPECT_EQ(parse(client_frame(0x8, close_body(4000, "bye")) + client_frame(0x1, "late")),
            Events{"close 4000 bye"});
  EXPECT_EQ(parse(client_frame(0x8, "")), Events{"close 1005 "}) << "no code: 1005";
  EXPECT_EQ(parse(client_frame(0x8, close_body(1000)), 1), Events{"close 1000 "});
  FrameParser parser(64);
  Recorder sink;
  std::string bytes = client_frame(0x8, "") + client_frame(0x1, "x");
  parser.feed(bytes.data(), bytes.size(), sink);
  EXPECT_TRUE(parser.done());
  std::string more = client_frame(0x1, "y");
  parser.feed(more.data(), more.size(), sink);
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST(ServerFrames, LengthEncodingsAndClosePayloads) {
  std::string out;
  append_frame(out, WsOpcode::kText, "hi");
  EXPECT_EQ(out, std::string("\x81\x02hi", 4));
  out.clear();
  append_frame(out, WsOpcode::kText, std::string(126, 'm'));
  EXPECT_EQ(out.substr(0, 4), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(out.size(), 4 + 126u);
  out.clear();
  append_frame(out, WsOpcode::kBinary, std::string(65536, 'l'));
  EXPECT_EQ(out.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(out.size(), 10 + 65536u);
  out.clear();
  append_frame(out, WsOpcode::kPing, "");
  EXPECT_EQ(out, std::string("\x89\x00", 2));

  EXPECT_EQ(close_payload(4003, "kicked"), std::string("\x0f\xa3kicked", 8));
  EXPECT_EQ(close_payload(1005, "ignored"), "") << "1005 means no code on the wire";
}

http::request<http::string_body> upgrade_request() {
  http::request<http::string_body> req{http::verb::get, "/ws", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "keep-alive, Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

TEST(Handshake, AValidRequestGets101WithTheRfcAcceptKey) {
  const HandshakeAnswer answer = answer_upgrade(upgrade_request(), "workspaces/test");
  ASSERT_TRUE(answer.ok) << answer.error;
  EXPECT_EQ(answer.response.result(), http::status::switching_protocols);
  // RFC 6455 §1.3's worked example.
  EXPECT_EQ(answer.response[http::field::sec_websocket_accept], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(answer.response[http::field::upgrade], "websocket");
  EXPECT_EQ(answer.response[http::field::server], "workspaces/test");
  EXPECT_EQ(answer.response.count(http::field::sec_websocket_extensions), 0u);
  const std::string wire = serialize(answer.response);
  EXPECT_EQ(wire.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << wire;
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
}

TEST(Handshake, InvalidRequestsAreRefusedWithTheReason) {
  struct Case {
    const char* name;
    void (*change)(http::request<http::string_body>&);
    http::status status;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.0", [](auto& r) { r.version(10); }, http::status::bad_request},
      {"POST", [](auto& r) { r.method(http::verb::post); }, http::status::bad_request},
      {"no Host", [](auto& r) { r.erase(http::field::host); }, http::status::bad_request},
      {"Connection without upgrade", [](auto& r) { r.set(http::field::connection, "close"); },
       http::status::bad_request},
      {"Upgrade: h2c", [](auto& r) { r.set(http::field::upgrade, "h2c"); },
       http::status::bad_request},
      {"no key", [](auto& r) { r.erase(http::field::sec_websocket_key); },
       http::status::bad_request},
      {"empty key", [](auto& r) { r.set(http::field::sec_websocket_key, ""); },
       http::status::bad_request},
      {"key too long", [](auto& r) { r.set(http::field::sec_websocket_key, std::string(25, 'k')); },
       http::status::bad_request},
      {"no version", [](auto& r) { r.erase(http::field::sec_websocket_version); },
       http::status::bad_request},
      {"version 8", [](auto& r) { r.set(http::field::sec_websocket_version, "8"); },
       http::status::upgrade_required},
  };
  for (const auto& c : cases) {
    auto req = upgrade_request();
    c.change(req);
    const HandshakeAnswer answer = answer_upgrade(req, "workspaces/test");
    EXPECT_FALSE(answer.ok) << c.name;
    EXPECT_EQ(answer.response.result(), c.status) << c.name;
    EXPECT_FALSE(answer.error.empty()) << c.name;
    EXPECT_EQ(answer.response.body(), answer.error) << c.name;
    if (c.status == http::status::upgrade_required) {
      EXPECT_EQ(answer.response[http::field::sec_websocket_version], "13");
    }
  }
}

}  // namespace
}  // namespace ws::net::detail
