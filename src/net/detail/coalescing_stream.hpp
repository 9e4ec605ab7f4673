// A stream layer under the WebSocket stream that coalesces writes: the frames written to one
// connection while the I/O thread handles a round of events leave in one system call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace ws::net::detail {

/// Wraps `Next` (a TCP or TLS stream). async_write_some() copies the bytes into a pending
/// buffer and completes at once (through the executor, never inline); one flush, posted behind
/// the handlers already queued, hands everything pending to `Next` in one write. While that
/// write is in flight new bytes gather for the next one, so a busy connection's frames batch
/// by themselves and an idle one's first frame leaves on the next turn of the event loop.
///
/// Backpressure is kept: once more than `limit` bytes are pending, the write that crossed the
/// limit completes only when they have been handed to `Next`, so a peer that stops reading
/// stalls its writers as before (and the session's queue bound still applies).
///
/// Everything runs on `Next`'s executor (the connection's strand), like any Beast stream.
/// A flush outliving the stream (the session closed the socket and went away) finds the
/// shared state marked dead and touches nothing else.
template <class Next>
class CoalescingStream {
 public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;

  explicit CoalescingStream(Next&& next, std::size_t limit = 64 * 1024)
      : next_(std::move(next)), shared_(std::make_shared<Shared>()) {
    shared_->limit = limit;
    shared_->stream = this;
  }
  CoalescingStream(CoalescingStream&& other) noexcept
      : next_(std::move(other.next_)), shared_(std::move(other.shared_)) {
    if (shared_) shared_->stream = this;
  }
  CoalescingStream& operator=(CoalescingStream&&) = delete;
  ~CoalescingStream() {
    if (shared_) shared_->stream = nullptr;
  }

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& bufs) { start_write(std::move(handler), bufs); },
        token, buffers);
  }

  /// Appends one whole unfragmented, unmasked WebSocket frame (RFC 6455 §5.2: a server's frames
  /// carry no mask) with `opcode` (1 text, 2 binary) and `payload`, and schedules a flush.
  /// Used by the session for its messages instead of the WebSocket stream's own write, which
  /// takes one message at a time and a completion per message: this way every message queued
  /// in one turn joins the same write. Beast's own frames (ping, pong, close) come through
  /// async_write_some() as a whole, so frames never interleave. Ignored after a write error.
  void write_frame(std::uint8_t opcode, std::string_view payload) {
    Shared& s = *shared_;
    if (s.error) return;
    char header[10];
    std::size_t n = 0;
    header[n++] = static_cast<char>(0x80 | (opcode & 0x0F));  // FIN
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
    s.pending.append(header, n);
    s.pending.append(payload);
    schedule_flush();
  }

  /// Bytes accepted and not yet written by `Next` (pending plus in flight).
  std::size_t buffered() const noexcept { return shared_->pending.size() + shared_->flight.size(); }

  /// Calls `handler(ec)` once everything written so far has been handed to `Next` (or the
  /// stream failed). Used before a WebSocket teardown so the close frame is not cut off.
  template <class Handler>
  void async_flush(Handler&& handler) {
    Shared& s = *shared_;
    if (s.error || (!s.flushing && s.pending.empty())) {
      boost::asio::post(get_executor(), boost::asio::append(std::forward<Handler>(handler),
                                                            boost::system::error_code(s.error)));
      return;
    }
    s.flush_waiters.emplace_back(std::forward<Handler>(handler));
    schedule_flush();
  }

 private:
  using WriteHandler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  using FlushHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  struct Shared {
    CoalescingStream* stream = nullptr;  // null once the stream is gone
    std::string pending;                 // accepted, not yet handed to Next
    std::string flight;                  // being written by Next
    std::size_t limit = 0;
    bool flushing = false;
    bool flush_posted = false;
    boost::system::error_code error;      // the first write error; every later write gets it
    std::optional<WriteHandler> blocked;  // the write that crossed `limit`
    std::size_t blocked_bytes = 0;
    std::vector<FlushHandler> flush_waiters;
  };

  template <class Handler, class ConstBuffers>
  void start_write(Handler handler, const ConstBuffers& buffers) {
    Shared& s = *shared_;
    if (s.error) {
      boost::asio::post(get_executor(),
                        boost::asio::append(std::move(handler), s.error, std::size_t{0}));
      return;
    }
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      s.pending.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    schedule_flush();
    if (s.pending.size() <= s.limit) {
      boost::asio::post(get_executor(),
                        boost::asio::append(std::move(handler), boost::system::error_code(), n));
    } else {
      s.blocked.emplace(std::move(handler));
      s.blocked_bytes = n;
    }
  }

  void schedule_flush() {
    Shared& s = *shared_;
    if (s.flushing || s.flush_posted) return;
    s.flush_posted = true;
    boost::asio::post(get_executor(), [sh = shared_] {
      sh->flush_posted = false;
      if (sh->stream) sh->stream->flush();
    });
  }

  void flush() {
    Shared& s = *shared_;
    if (s.flushing || s.pending.empty() || s.error) return;
    s.flushing = true;
    s.flight.swap(s.pending);  // pending takes the old flight buffer's capacity
    boost::asio::async_write(next_, boost::asio::buffer(s.flight),
                             [sh = shared_](boost::system::error_code ec, std::size_t) {
                               sh->flushing = false;
                               if (sh->stream) sh->stream->on_flushed(ec);
                             });
    release_blocked();
  }

  void on_flushed(boost::system::error_code ec) {
    Shared& s = *shared_;
    s.flight.clear();
    if (ec) {
      s.error = ec;
      release_blocked();
      for (auto& w : s.flush_waiters) {
        boost::asio::post(get_executor(), boost::asio::append(std::move(w), ec));
      }
      s.flush_waiters.clear();
      return;
    }
    if (!s.pending.empty()) return flush();
    // Idle: hold no buffer. Most connections are idle most of the time, so this is what sets
    // memory per connection; a busy one reallocates once per flush, not per frame.
    std::string().swap(s.flight);
    std::string().swap(s.pending);
    for (auto& w : s.flush_waiters) {
      boost::asio::post(get_executor(), boost::asio::append(std::move(w), ec));
    }
    s.flush_waiters.clear();
  }

  /// Completes the write held back by the limit once the pending bytes fit again (they just
  /// moved to the flight buffer) or the stream failed.
  void release_blocked() {
    Shared& s = *shared_;
    if (!s.blocked || (!s.error && s.pending.size() > s.limit)) return;
    WriteHandler h = std::move(*s.blocked);
    s.blocked.reset();
    std::size_t n = s.error ? 0 : s.blocked_bytes;
    boost::asio::post(get_executor(), boost::asio::append(std::move(h), s.error, n));
  }

  Next next_;
  std::shared_ptr<Shared> shared_;
};

/// WebSocket teardown (closing handshake's end): flush what is pending (the close frame
/// among it), then the next layer's own teardown.
template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, CoalescingStream<Next>& stream,
                    Handler&& handler) {
  stream.async_flush(
      [&stream, role, h = std::forward<Handler>(handler)](boost::system::error_code) mutable {
        using boost::beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(h));
      });
}

template <class Next>
void teardown(boost::beast::role_type role, CoalescingStream<Next>& stream,
              boost::system::error_code& ec) {
  // Synchronous close is not used by the server; the pending bytes go out before the
  // next layer's teardown all the same.
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

}  // namespace ws::net::detail
