#include "client.hpp"

#include <cstring>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket.hpp>

#include "stats.hpp"

namespace lg {
namespace {

using asio::use_awaitable;

std::string describe(const boost::system::error_code& ec, const websocket::close_reason& reason) {
  if (ec == websocket::error::closed) {
    std::string out = "closed by the server (code " + std::to_string(reason.code);
    if (!reason.reason.empty()) out += " " + std::string(reason.reason.c_str());
    return out + ")";
  }
  return ec.message();
}

}  // namespace

Client::Client(asio::io_context& io) : ws_(io.get_executor()) {
  ws_.auto_fragment(false);
  ws_.secure_prng(false);  // masking keys need no cryptographic quality here
  ws_.read_message_max(64u << 20);
  ws_.text(true);
}

task<void> Client::open(const tcp::endpoint& endpoint, const std::string& host,
                        const std::string& target, milliseconds timeout) {
  auto& stream = beast::get_lowest_layer(ws_);
  stream.expires_after(timeout);
  boost::system::error_code ec;
  co_await stream.async_connect(endpoint, asio::redirect_error(use_awaitable, ec));
  if (ec) throw std::runtime_error("connect: " + ec.message());
  stream.socket().set_option(tcp::no_delay(true), ec);
  websocket::response_type response;
  stream.expires_after(timeout);
  co_await ws_.async_handshake(response, host, target, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    std::string why = "upgrade " + target + ": " + ec.message();
    if (response.result_int() != 0) why += " (HTTP " + std::to_string(response.result_int()) + ")";
    throw std::runtime_error(why);
  }
  stream.expires_never();
}

task<void> Client::write(std::string_view frame, milliseconds timeout) {
  beast::get_lowest_layer(ws_).expires_after(timeout);
  boost::system::error_code ec;
  co_await ws_.async_write(asio::buffer(frame.data(), frame.size()),
                           asio::redirect_error(use_awaitable, ec));
  if (ec) throw std::runtime_error("write: " + describe(ec, ws_.reason()));
  beast::get_lowest_layer(ws_).expires_never();
}

task<std::string> Client::read(milliseconds timeout) {
  in_.consume(in_.size());
  beast::get_lowest_layer(ws_).expires_after(timeout);
  boost::system::error_code ec;
  co_await ws_.async_read(in_, asio::redirect_error(use_awaitable, ec));
  if (ec == beast::error::timeout) {
    throw std::runtime_error("nothing received within " + std::to_string(timeout.count()) + " ms");
  }
  if (ec) throw std::runtime_error("read: " + describe(ec, ws_.reason()));
  beast::get_lowest_layer(ws_).expires_never();
  std::string message = beast::buffers_to_string(in_.cdata());
  in_.consume(in_.size());
  co_return message;
}

task<void> Client::close(milliseconds timeout) {
  stopping_ = true;
  beast::get_lowest_layer(ws_).expires_after(timeout);
  boost::system::error_code ec;
  // Beast sends the close frame, reads (and drops) frames until the server's close frame,
  // then waits for the server to end TCP.
  co_await ws_.async_close(websocket::close_code::normal, asio::redirect_error(use_awaitable, ec));
  if (ec) throw std::runtime_error("close: " + describe(ec, ws_.reason()));
  ended_ = true;
}

void Client::start(MessageHandler on_message, EndHandler on_end) {
  on_message_ = std::move(on_message);
  on_end_ = std::move(on_end);
  running_ = true;
  read_next();
}

void Client::read_next() {
  ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      self->running_ = false;
      self->ended_ = true;
      self->on_message_ = nullptr;
      if (auto on_end = std::move(self->on_end_); on_end && !self->detached_) {
        on_end(self->stopping_, describe(ec, self->ws_.reason()));
      }
      return;
    }
    const auto data = self->in_.cdata();
    if (!self->detached_) {
      self->on_message_(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    self->in_.consume(self->in_.size());
    self->read_next();
  });
}

void Client::send(const Frame& frame, std::int64_t stamp_ns) {
  if (!running_ || stopping_) return;
  // RFC 6455 §5.2: FIN + text, the length in its shortest form, a masking key, masked payload.
  const std::size_t len = frame.text.size();
  pending_.push_back(static_cast<char>(0x81));
  if (len < 126) {
    pending_.push_back(static_cast<char>(0x80 | len));
  } else if (len <= 0xFFFF) {
    pending_.push_back(static_cast<char>(0x80 | 126));
    pending_.push_back(static_cast<char>(len >> 8));
    pending_.push_back(static_cast<char>(len & 0xFF));
  } else {
    pending_.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      pending_.push_back(static_cast<char>((static_cast<std::uint64_t>(len) >> shift) & 0xFF));
    }
  }
  mask_state_ ^= mask_state_ << 13;  // xorshift32
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  char key[4];
  std::memcpy(key, &mask_state_, 4);
  pending_.append(key, 4);
  const std::size_t at = pending_.size();
  pending_.append(frame.text);
  char* payload = pending_.data() + at;
  if (frame.stamp_at != std::string::npos) write_stamp(payload + frame.stamp_at, stamp_ns);
  for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i & 3]);
  if (!writing_) write_next();
}

void Client::send(std::string_view text) {
  send(Frame{std::string(text)}, 0);
}

void Client::write_next() {
  writing_ = true;
  flight_.swap(pending_);  // pending_ keeps the old flight buffer's capacity
  asio::async_write(beast::get_lowest_layer(ws_), asio::buffer(flight_),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->flight_.clear();
                      // A failed write also fails the read loop, which reports the end.
                      if (ec || self->stopping_) {
                        self->pending_.clear();
                        if (!ec && self->close_waiting_) self->start_close();
                        return;
                      }
                      if (!self->pending_.empty()) self->write_next();
                    });
}

void Client::stop(milliseconds timeout) {
  if (stopping_ || ended_) return;
  stopping_ = true;
  beast::get_lowest_layer(ws_).expires_after(timeout);
  // Beast's close frame must not land inside a write of ours.
  if (writing_) {
    close_waiting_ = true;
    return;
  }
  start_close();
}

void Client::start_close() {
  close_waiting_ = false;
  // The pending read sees the server's close frame and reports the (expected) end.
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
    if (!self->running_) self->ended_ = true;
  });
}

void Client::abort() {
  stopping_ = true;
  detached_ = true;  // no more callbacks into the scenario, which may be gone
  beast::get_lowest_layer(ws_).close();
}

}  // namespace lg
