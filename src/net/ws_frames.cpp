#include "net/detail/ws_frames.hpp"

#include <cstring>
#include <sstream>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/error.hpp>

namespace ws::net::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kBadPayload = 1007;
constexpr std::uint16_t kTooBig = 1009;
constexpr std::uint16_t kNoStatus = 1005;
constexpr std::size_t kMaxControlPayload = 125;

bool is_control(WsOpcode op) {
  return static_cast<std::uint8_t>(op) >= 0x8;
}

bool is_known(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

/// XORs `n` bytes with the 4-byte key starting at key position `pos`, eight bytes at a time.
void unmask(char* p, std::size_t n, const unsigned char mask[4], std::size_t& pos) {
  unsigned char key[8];
  for (std::size_t j = 0; j < 8; ++j) key[j] = mask[(pos + j) & 3];
  std::uint64_t key64;
  std::memcpy(&key64, key, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= key64;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 7]);
  pos = (pos + n) & 3;
}

std::uint64_t big_endian(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

/// The header's full length once its first two bytes are known.
std::size_t header_size(const unsigned char* header) {
  const unsigned len7 = header[1] & 0x7F;
  std::size_t n = 2;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if (header[1] & 0x80) n += 4;
  return n;
}

}  // namespace

void FrameParser::feed(char* data, std::size_t size, FrameSink& sink) {
  std::size_t i = 0;
  while (!done_ && i < size) {
    if (!in_payload_) {
      i += take_header(data + i, size - i, sink);
      continue;
    }
    const std::size_t avail = size - i;
    const std::size_t n = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
    frame_payload(data + i, n, n == frame_len_, sink);
    i += n;
  }
}

std::size_t FrameParser::take_header(const char* data, std::size_t size, FrameSink& sink) {
  std::size_t used = 0;
  while (used < size) {
    header_[header_len_++] = static_cast<unsigned char>(data[used++]);
    if (header_len_ >= 2 && header_len_ == header_size(header_)) {
      header_len_ = 0;
      start_frame(sink);
      break;
    }
  }
  return used;
}

void FrameParser::start_frame(FrameSink& sink) {
  const unsigned char b0 = header_[0];
  const unsigned char b1 = header_[1];
  const bool fin = (b0 & 0x80) != 0;
  const std::uint8_t op = b0 & 0x0F;
  if (b0 & 0x70) return fail(sink, kProtocolError, "reserved bits set");
  if (!is_known(op)) return fail(sink, kProtocolError, "unknown opcode");
  if (!(b1 & 0x80)) return fail(sink, kProtocolError, "unmasked frame");

  std::uint64_t len = b1 & 0x7F;
  std::size_t at = 2;
  if (len == 126) {
    len = big_endian(header_ + 2, 2);
    at = 4;
    if (len < 126) return fail(sink, kProtocolError, "length not minimally encoded");
  } else if (len == 127) {
    len = big_endian(header_ + 2, 8);
    at = 10;
    if (len >> 63) return fail(sink, kProtocolError, "length over 2^63");
    if (len <= 0xFFFF) return fail(sink, kProtocolError, "length not minimally encoded");
  }
  std::memcpy(mask_, header_ + at, 4);

  const auto opcode = static_cast<WsOpcode>(op);
  if (is_control(opcode)) {
    if (!fin) return fail(sink, kProtocolError, "fragmented control frame");
    if (len > kMaxControlPayload) return fail(sink, kProtocolError, "control frame over 125 bytes");
  } else {
    if (opcode == WsOpcode::kContinuation && !in_message_)
      return fail(sink, kProtocolError, "continuation outside a message");
    if (opcode != WsOpcode::kContinuation) {
      if (in_message_) return fail(sink, kProtocolError, "new message inside another");
      message_text_ = opcode == WsOpcode::kText;
      message_len_ = 0;
      utf8_.reset();
    }
    if (len > max_message_ - message_len_) return fail(sink, kTooBig, "message too big");
    message_len_ += len;
    in_message_ = !fin;
  }
  sink.on_frame(opcode, header_size(header_) + len);
  opcode_ = opcode;
  fin_ = fin;
  frame_len_ = remaining_ = len;
  mask_pos_ = 0;
  in_payload_ = true;
  if (len == 0) {
    char none[1];
    frame_payload(none, 0, true, sink);
  }
}

void FrameParser::frame_payload(char* data, std::size_t n, bool whole, FrameSink& sink) {
  unmask(data, n, mask_, mask_pos_);
  remaining_ -= n;
  const bool frame_done = remaining_ == 0;
  if (frame_done) in_payload_ = false;

  if (is_control(opcode_)) {
    control_.append(data, n);  // at most 125 bytes
    if (frame_done) end_control(sink);
    return;
  }

  if (message_text_ && !utf8_.write(reinterpret_cast<const std::uint8_t*>(data), n)) {
    return fail(sink, kBadPayload, "invalid UTF-8 in a text message");
  }
  const bool message_done = frame_done && fin_;
  if (message_done && whole && message_.empty()) {
    // The common case: a whole single-frame message in this read, delivered in place.
    if (message_text_ && !utf8_.finish()) return fail(sink, kBadPayload, "truncated UTF-8");
    sink.on_message(message_text_, std::string_view(data, n));
    return;
  }
  message_.append(data, n);
  if (!message_done) return;
  if (message_text_ && !utf8_.finish()) return fail(sink, kBadPayload, "truncated UTF-8");
  std::string message;
  message.swap(message_);  // an idle connection keeps no message buffer
  sink.on_message(message_text_, message);
}

void FrameParser::end_control(FrameSink& sink) {
  std::string payload;
  payload.swap(control_);
  switch (opcode_) {
    case WsOpcode::kPing:
      return sink.on_ping(payload);
    case WsOpcode::kPong:
      return sink.on_pong();
    case WsOpcode::kClose:
      break;
    default:
      return;
  }
  if (payload.empty()) {
    done_ = true;
    return sink.on_peer_close(kNoStatus, {});
  }
  if (payload.size() == 1) return fail(sink, kProtocolError, "close frame of one byte");
  const auto code = static_cast<std::uint16_t>(
      big_endian(reinterpret_cast<const unsigned char*>(payload.data()), 2));
  // Beast's check, plus RFC 6455 §7.4.2: nothing is defined from 5000 up.
  if (!beast::websocket::detail::is_valid_close_code(code) || code >= 5000)
    return fail(sink, kProtocolError, "invalid close code");
  const std::string_view reason = std::string_view(payload).substr(2);
  if (!beast::websocket::detail::check_utf8(reason.data(), reason.size()))
    return fail(sink, kBadPayload, "close reason not UTF-8");
  done_ = true;
  sink.on_peer_close(code, reason);
}

void FrameParser::fail(FrameSink& sink, std::uint16_t code, std::string_view cause) {
  done_ = true;
  std::string().swap(message_);
  std::string().swap(control_);
  sink.on_violation(code, cause);
}

void append_frame(std::string& out, WsOpcode opcode, std::string_view payload) {
  char header[10];
  std::size_t n = 0;
  header[n++] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));  // FIN
  const std::uint64_t len = payload.size();
  if (len < 126) {
    header[n++] = static_cast<char>(len);
  } else if (len <= 0xFFFF) {
    header[n++] = 126;
    header[n++] = static_cast<char>(len >> 8);
    header[n++] = static_cast<char>(len & 0xFF);
  } else {
    header[n++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[n++] = static_cast<char>((len >> shift) & 0xFF);
    }
  }
  out.append(header, n);
  out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  if (code == kNoStatus) return {};
  std::string out;
  out.reserve(2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
  return out;
}

HandshakeAnswer answer_upgrade(const http::request<http::string_body>& req,
                               std::string_view server_header) {
  namespace wse = beast::websocket;
  HandshakeAnswer answer;
  auto& res = answer.response;
  res.version(req.version());
  res.set(http::field::server, server_header);
  const auto refuse = [&](http::status status, wse::error e) {
    answer.error = boost::system::error_code(e).message();
    res.result(status);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::upgrade_required) res.set(http::field::sec_websocket_version, "13");
    res.body() = answer.error;
    res.prepare_payload();
  };
  const auto has_token = [&](http::field f, std::string_view token) {
    auto it = req.find(f);
    return it != req.end() && http::token_list{it->value()}.exists(token);
  };
  const auto key = req.find(http::field::sec_websocket_key);
  const auto version = req.find(http::field::sec_websocket_version);
  if (req.version() != 11) {
    refuse(http::status::bad_request, wse::error::bad_http_version);
  } else if (req.method() != http::verb::get) {
    refuse(http::status::bad_request, wse::error::bad_method);
  } else if (req.find(http::field::host) == req.end()) {
    refuse(http::status::bad_request, wse::error::no_host);
  } else if (!has_token(http::field::connection, "upgrade")) {
    refuse(http::status::bad_request, wse::error::no_connection_upgrade);
  } else if (!has_token(http::field::upgrade, "websocket")) {
    refuse(http::status::bad_request, wse::error::no_upgrade_websocket);
  } else if (key == req.end()) {
    refuse(http::status::bad_request, wse::error::no_sec_key);
  } else if (key->value().empty() ||
             key->value().size() > wse::detail::sec_ws_key_type::static_capacity) {
    refuse(http::status::bad_request, wse::error::bad_sec_key);
  } else if (version == req.end()) {
    refuse(http::status::bad_request, wse::error::no_sec_version);
  } else if (version->value() != "13") {
    refuse(http::status::upgrade_required, wse::error::bad_sec_version);
  } else {
    wse::detail::sec_ws_accept_type accept;
    wse::detail::make_sec_ws_accept(accept, key->value());
    res.result(http::status::switching_protocols);
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "upgrade");
    res.set(http::field::sec_websocket_accept, beast::string_view(accept.data(), accept.size()));
    answer.ok = true;
  }
  return answer;
}

std::string serialize(const http::response<http::string_body>& res) {
  std::ostringstream out;
  out << res;
  return std::move(out).str();
}

}  // namespace ws::net::detail
