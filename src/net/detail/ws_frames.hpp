// The server side of RFC 6455 after the upgrade: the opening handshake's answer, an incremental
// parser for the frames clients send, and the frames the server writes. Pure: no sockets.
//
// Why not Beast's websocket::stream: it reads at most 1,536 bytes per system call and hands
// over one message per completion, so a burst of frames costs a system call and an event-loop
// turn each and cannot be batched; its per-connection state is about 4 KiB before any message.
// Here the session reads whatever the socket holds (up to 64 KiB) into a buffer shared by the
// thread and parses every frame in it at once. UTF-8 validation, close-code validity and the
// accept key still come from Beast (its websocket::detail helpers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>

namespace ws::net::detail {

/// RFC 6455 §5.2 opcodes.
enum class WsOpcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// What the parser reports. Views are valid during the call only.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  /// Every frame the peer sends, data, continuation and control alike, once its header is read
  /// and valid, before its payload: `wire_bytes` is the header and payload together. The rate
  /// limits count these (PROTOCOL.md §10), so a frame that carries nothing still counts.
  virtual void on_frame(WsOpcode opcode, std::uint64_t wire_bytes) = 0;
  /// A whole message (fragments joined); text is valid UTF-8.
  virtual void on_message(bool text, std::string_view payload) = 0;
  virtual void on_ping(std::string_view payload) = 0;
  virtual void on_pong() = 0;
  /// The peer's close frame; `code` is 1005 when it carried none. The parser is done.
  virtual void on_peer_close(std::uint16_t code, std::string_view reason) = 0;
  /// The peer broke the protocol; the connection must close with `code` (1002, 1007 or 1009).
  /// The parser is done.
  virtual void on_violation(std::uint16_t code, std::string_view cause) = 0;
};

/// Parses the frames a client sends, in pieces of any size. Enforces what RFC 6455 requires of
/// a server: masked frames, no reserved bits (no extension is ever negotiated), known opcodes,
/// control frames short and unfragmented, continuation only inside a fragmented message, the
/// minimal length encoding, valid UTF-8 in text and close reasons, valid close codes, and
/// `max_message_bytes` over a message's fragments together.
class FrameParser {
 public:
  explicit FrameParser(std::size_t max_message_bytes) : max_message_(max_message_bytes) {}

  /// Parses `data`, unmasking payloads in place. A frame whose payload lies whole in `data`
  /// reaches the sink without a copy; the rest of a partial frame is kept until the next call.
  /// After a close frame or a violation everything else is ignored (done() is true).
  void feed(char* data, std::size_t size, FrameSink& sink);

  bool done() const { return done_; }

  /// Bytes kept between calls: a partial message or control frame. Their buffer is released
  /// once the frame or message is complete, so an idle connection holds none.
  std::size_t held_bytes() const { return message_.size() + control_.size(); }

 private:
  /// Returns the bytes of `data` used to complete the header (all of them when still short).
  std::size_t take_header(const char* data, std::size_t size, FrameSink& sink);
  void start_frame(FrameSink& sink);
  void frame_payload(char* data, std::size_t n, bool whole, FrameSink& sink);
  void end_control(FrameSink& sink);
  void fail(FrameSink& sink, std::uint16_t code, std::string_view cause);

  const std::size_t max_message_;
  bool done_ = false;

  // The frame header being read (2 to 14 bytes).
  unsigned char header_[14] = {};
  std::size_t header_len_ = 0;

  // The frame whose payload is being read.
  bool in_payload_ = false;
  WsOpcode opcode_ = WsOpcode::kText;
  bool fin_ = false;
  std::uint64_t frame_len_ = 0;
  std::uint64_t remaining_ = 0;
  unsigned char mask_[4] = {};
  std::size_t mask_pos_ = 0;

  // The data message being assembled.
  bool in_message_ = false;  // a fragmented message started and is not finished
  bool message_text_ = false;
  std::uint64_t message_len_ = 0;  // bytes of the message so far, this frame's included
  std::string message_;            // its payload, when it spans frames or reads
  boost::beast::websocket::detail::utf8_checker utf8_;

  std::string control_;  // a control frame's payload split across reads
};

/// Appends one whole, unmasked server frame (FIN set) to `out`.
void append_frame(std::string& out, WsOpcode opcode, std::string_view payload);

/// The close frame's payload: the code in network order and the reason, or nothing for 1005.
std::string close_payload(std::uint16_t code, std::string_view reason);

/// The answer to a WebSocket upgrade request (RFC 6455 §4.2): 101 with the accept key when
/// the request is a valid opening handshake, else 400 (426 for another protocol version) with
/// the reason as its body. No extension or subprotocol is ever negotiated.
struct HandshakeAnswer {
  bool ok = false;
  boost::beast::http::response<boost::beast::http::string_body> response;
  std::string error;  // why the handshake was refused
};
HandshakeAnswer answer_upgrade(
    const boost::beast::http::request<boost::beast::http::string_body>& req,
    std::string_view server_header);

/// The bytes of a response's header and body, as written on the wire.
std::string serialize(const boost::beast::http::response<boost::beast::http::string_body>& res);

}  // namespace ws::net::detail
