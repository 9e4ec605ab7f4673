// The write side of a WebSocket connection: the frames written to one connection while the I/O
// thread handles a round of events leave in one system call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "net/detail/ws_frames.hpp"

namespace ws::net::detail {

/// Wraps `Next` (a TCP socket or a TLS stream). write() and write_frame() append to a pending
/// buffer; one flush, posted behind the handlers already queued, hands everything pending to
/// `Next` in one write. While that write is in flight new bytes gather for the next one, so a
/// busy connection's frames batch by themselves and an idle one's first frame leaves on the
/// next turn of the event loop. The caller bounds what may pend (the session's max_queue_bytes,
/// read through buffered()).
///
/// Everything runs on `Next`'s executor (the connection's strand). A flush outliving the
/// stream (the session closed the socket and went away) finds the shared state marked dead and
/// touches nothing else. After a write error everything written is dropped: the socket is dead
/// and the session learns it from its read.
template <class Next>
class CoalescingStream {
 public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;

  explicit CoalescingStream(Next&& next)
      : next_(std::move(next)), shared_(std::make_shared<Shared>()) {
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

  /// Appends raw bytes (the handshake's answer).
  void write(std::string_view bytes) {
    if (shared_->error) return;
    shared_->pending.append(bytes);
    schedule_flush();
  }

  /// Appends one whole unfragmented, unmasked WebSocket frame (RFC 6455 §5.2: a server's frames
  /// carry no mask).
  void write_frame(WsOpcode opcode, std::string_view payload) {
    if (shared_->error) return;
    append_frame(shared_->pending, opcode, payload);
    schedule_flush();
  }

  /// Bytes accepted and not yet written by `Next` (pending plus in flight).
  std::size_t buffered() const noexcept { return shared_->pending.size() + shared_->flight.size(); }
  /// Writes handed to `Next` that have completed: a session sees from it whether a write in
  /// flight has made progress.
  std::uint64_t flushes_done() const noexcept { return shared_->flushes_done; }
  bool flushing() const noexcept { return shared_->flushing; }

  /// Calls `handler(ec)` once everything written so far has been handed to `Next` (or the
  /// stream failed). Used before a teardown so the close frame is not cut off.
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
  using FlushHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  struct Shared {
    CoalescingStream* stream = nullptr;  // null once the stream is gone
    std::string pending;                 // accepted, not yet handed to Next
    std::string flight;                  // being written by Next
    bool flushing = false;
    bool flush_posted = false;
    std::uint64_t flushes_done = 0;
    boost::system::error_code error;  // the first write error
    std::vector<FlushHandler> flush_waiters;
  };

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
                               ++sh->flushes_done;
                               if (sh->stream) sh->stream->on_flushed(ec);
                             });
  }

  void on_flushed(boost::system::error_code ec) {
    Shared& s = *shared_;
    s.flight.clear();
    if (ec) {
      s.error = ec;
      std::string().swap(s.pending);
    } else if (!s.pending.empty()) {
      return flush();
    }
    // Idle: hold no buffer. Most connections are idle most of the time, so this is what sets
    // memory per connection; a busy one reallocates once per flush, not per frame.
    std::string().swap(s.flight);
    std::string().swap(s.pending);
    for (auto& w : s.flush_waiters) {
      boost::asio::post(get_executor(), boost::asio::append(std::move(w), ec));
    }
    s.flush_waiters.clear();
  }

  Next next_;
  std::shared_ptr<Shared> shared_;
};

/// The end of a closing handshake: flush what is pending (the close frame among it), then the
/// next layer's own teardown (TCP: shut down sending and read until the peer's end; TLS:
/// close_notify).
template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, CoalescingStream<Next>& stream,
                    Handler&& handler) {
  stream.async_flush(
      [&stream, role, h = std::forward<Handler>(handler)](boost::system::error_code) mutable {
        using boost::beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(h));
      });
}

}  // namespace ws::net::detail
