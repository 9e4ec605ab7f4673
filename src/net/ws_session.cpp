// WebSocket session (plain or TLS): handshake, read loop to the ConnectionHandler, bounded write
// queue, ping/pong liveness and orderly close (PROTOCOL.md §2, §7, §9); on /socket.io/ also the
// Engine.IO/Socket.IO duties (open, connect, heartbeat, disconnect) around the app's events.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/detail/coalescing_stream.hpp"
#include "net/detail/engineio.hpp"
#include "net/detail/sessions.hpp"
#include "net/detail/ws_frames.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

namespace ws::net::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// ConnIds are unique for the life of the process (core/ids.hpp); 0 is never used.
std::atomic<std::uint64_t> next_conn_id{1};

// An unmasked server frame's header is at most 10 bytes (RFC 6455 §5.2).
constexpr std::size_t kMaxFrameHeaderBytes = 10;

// RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code.
constexpr std::size_t kMaxCloseReasonBytes = 123;

// Cuts `reason` to what fits a close frame without splitting a UTF-8 sequence.
std::string fit_close_reason(std::string reason) {
  if (reason.size() <= kMaxCloseReasonBytes) return reason;
  std::size_t n = kMaxCloseReasonBytes;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  reason.resize(n);
  return reason;
}

// Codes an endpoint may put on the wire (RFC 6455 §7.4): 1005, 1006 and 1015 are reserved for
// reporting, and codes outside 1000-4999 are invalid. Anything else becomes 1011.
std::uint16_t sendable_close_code(std::uint16_t code) {
  const bool reserved = code == 1004 || code == 1005 || code == 1006 || code == 1015;
  return (code < 1000 || code > 4999 || reserved) ? std::uint16_t{1011} : code;
}

/// What the app holds: a handle that reaches the session only while it lives, so the app may
/// keep it past the session, the Server and even the io_context (calls become no-ops). Owning
/// the session instead would let the app destroy a Beast stream after its io_context.
template <class Session>
class SessionHandle final : public Connection {
 public:
  SessionHandle(core::ConnId id, Transport transport, std::weak_ptr<Session> session)
      : id_(id), transport_(transport), session_(std::move(session)) {}

  core::ConnId id() const override { return id_; }
  Transport transport() const override { return transport_; }
  void send(std::shared_ptr<const std::string> frame) override {
    if (auto session = session_.lock()) session->send(std::move(frame));
  }
  void close(std::uint16_t code, std::string reason) override {
    if (auto session = session_.lock()) session->close(code, std::move(reason));
  }
  void set_bound(bool bound) override {
    if (auto session = session_.lock()) session->set_bound(bound);
  }

 private:
  const core::ConnId id_;
  const Transport transport_;
  const std::weak_ptr<Session> session_;
};

// How much one read takes from a socket: what a busy client sent since the last turn, in one
// system call. The buffer belongs to the I/O thread, not the connection, so an idle connection
// holds none (a partial frame left at the end is copied out by the parser).
constexpr std::size_t kReadBytes = 64 * 1024;
// TLS records are decrypted into a buffer of the connection's own (OpenSSL already holds
// about 17 KiB per TLS connection).
constexpr std::size_t kTlsReadBytes = 16 * 1024;

char* thread_read_buffer() {
  thread_local const std::unique_ptr<char[]> buffer(new char[kReadBytes]);
  return buffer.get();
}

/// One WebSocket connection after the upgrade. Owned by its pending handlers only (the app
/// holds a SessionHandle); everything runs on the connection's strand except send() and
/// close(), which may be called from any thread and dispatch or post to it.
///
/// Reads: plain TCP reads whatever the socket holds into the thread's buffer (non-blocking,
/// waiting for readability only after the socket said it had nothing), TLS reads into the
/// connection's buffer; FrameParser turns the bytes into messages at once, and the next read
/// is posted behind the work they caused, so the frames they queued for others leave first.
/// Writes: whole frames into the CoalescingStream.
template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>>, private FrameSink {
  static constexpr bool kPlain = std::is_same_v<Stream, tcp::socket>;

 public:
  WsSession(Stream stream, Transport transport, std::shared_ptr<ServerState> state,
            std::string peer_ip, Admission::Ticket ticket)
      : executor_(stream.get_executor()),
        out_(std::move(stream)),
        id_{next_conn_id.fetch_add(1)},
        transport_(transport),
        state_(std::move(state)),
        peer_ip_(std::move(peer_ip)),
        ticket_(std::move(ticket)),
        parser_(state_->options.max_frame_bytes),
        timer_(executor_),
        eio_(transport != Transport::kNative),
        eio_version_(eio::version_of(transport)) {}

  /// Connection::send(): any thread.
  void send(std::shared_ptr<const std::string> frame) {
    // After close() the app has said its last word, even while that close is still posted.
    if (!frame || close_called_.load()) return;
    // Counted here, on the caller's thread, so the bound holds however far the strand lags.
    const std::size_t n = frame->size();
    if (queued_bytes_.fetch_add(n) + n > state_->options.max_queue_bytes) {
      queued_bytes_.fetch_sub(n);
      if (!drop_posted_.exchange(true)) {
        asio::post(executor_, [self = this->shared_from_this()] {
          self->drop("slow reader: more than max_queue_bytes queued");
        });
      }
      return;
    }
    // Inline when the caller already runs on this connection's strand (one I/O thread).
    asio::dispatch(executor_, beast::bind_front_handler(
                                  &WsSession::on_send, this->shared_from_this(), std::move(frame)));
  }

  /// Connection::close(): any thread.
  void close(std::uint16_t code, std::string reason) {
    close_called_.store(true);
    asio::post(executor_,
               beast::bind_front_handler(&WsSession::on_close_request, this->shared_from_this(),
                                         code, std::move(reason)));
  }

  /// Connection::set_bound(): any thread. The Ticket is constant after construction and
  /// thread-safe.
  void set_bound(bool bound) { ticket_.set_bound(bound); }

  /// Called on the strand once the upgrade was accepted: `handshake` is the 101 answer to
  /// write, `early` any bytes the client sent after its request (already read).
  void run(std::string_view handshake, std::string early) {
    // Until it is bound to a member, a newcomer at max_connections may evict it (oldest
    // first): the socket is dropped at once, so its descriptor is free for the newcomer.
    ticket_.set_closer([weak = this->weak_from_this(), executor = executor_] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->drop("evicted: max_connections reached");
      });
    });
    out_.write(handshake);
    phase_ = Phase::kOpen;
    handle_ = std::make_shared<SessionHandle<WsSession>>(id_, transport_, this->weak_from_this());
    state_->registry.add(handle_);
    if (Metrics* metrics = state_->options.metrics) metrics->connection_opened(transport_);
    log_event(spdlog::level::info, "connection.open",
              {{"conn", std::to_string(id_.value)},
               {"peer", peer_ip_},
               {"transport", std::string(to_string(transport_))}});
    if (eio_) open_engineio();  // queued before anything the app sends
    state_->handler.on_open(handle_, peer_ip_);
    if (state_->options.ping_interval.count() > 0) arm_timer(heartbeat_wait());
    if (!early.empty()) {
      parser_.feed(early.data(), early.size(), *this);
      report_counted();
      if (tearing_down_) return;
    }
    do_read();
  }

 private:
  enum class Phase { kHandshake, kOpen, kClosing, kClosed };

  // ---------------- Engine.IO / Socket.IO (PROTOCOL.md §7) ----------------

  void open_engineio() {
    const ServerOptions& options = state_->options;
    sid_ = eio::make_sid();
    send_own(eio::open_packet(sid_, eio_version_, options.ping_interval, options.ping_timeout,
                              options.max_frame_bytes));
    // Engine.IO v3 (socket.io v2): the server connects the client to "/" by itself.
    if (eio_version_ == eio::Version::k3) {
      send_own(eio::connect_packet(sid_, eio_version_));
      sio_connected_ = true;
    }
  }

  /// How long the heartbeat timer waits from open: v4 pings after ping_interval; v3 drops a
  /// client silent for ping_interval + ping_timeout (its pings are due every ping_interval).
  std::chrono::milliseconds heartbeat_wait() const {
    const ServerOptions& options = state_->options;
    if (eio_ && eio_version_ == eio::Version::k3)
      return options.ping_interval + options.ping_timeout;
    return options.ping_interval;
  }

  /// Queues a packet of the session's own (open, pong, errors), counted like the app's sends.
  void send_own(std::string_view packet) {
    auto frame = std::make_shared<const std::string>(packet);
    queued_bytes_.fetch_add(frame->size());
    on_send(std::move(frame));
  }

  void on_engineio(std::string packet) {
    // v3 liveness: any packet from the client shows it is there.
    if (eio_version_ == eio::Version::k3 && state_->options.ping_interval.count() > 0)
      arm_timer(heartbeat_wait());
    eio::Inbound in = eio::decode(packet, eio_version_, sio_connected_);
    using Kind = eio::Inbound::Kind;
    switch (in.kind) {
      case Kind::kEvent:
        state_->handler.on_text(id_, transport_, std::move(in.text), take_counted());
        break;
      case Kind::kPong:
        note_activity();
        break;
      case Kind::kConnect:
        sio_connected_ = true;
        send_own(eio::connect_packet(sid_, eio_version_));
        break;
      case Kind::kDisconnect:
        on_close_request(1000, "client disconnect");
        break;
      case Kind::kReply:
        send_own(in.text);
        break;
      case Kind::kIgnore:
        break;
      case Kind::kFail:
        log_event(spdlog::level::debug, "eio.protocol_error",
                  {{"conn", std::to_string(id_.value)}, {"cause", in.cause}});
        if (!in.text.empty()) send_own(in.text);
        if (close_cause_.empty()) close_cause_ = in.cause;
        on_close_request(1002, std::move(in.cause));
        break;
    }
  }

  // ---------------- reading ----------------

  tcp::socket& socket() {
    if constexpr (kPlain) {
      return out_.next_layer();
    } else {
      return beast::get_lowest_layer(out_.next_layer()).socket();
    }
  }

  void do_read() {
    if (phase_ == Phase::kClosed || tearing_down_) return;
    if constexpr (kPlain) {
      error_code ec;
      char* buffer = thread_read_buffer();
      const std::size_t n = socket().read_some(asio::buffer(buffer, kReadBytes), ec);
      if (ec == asio::error::would_block) {
        socket().async_wait(
            tcp::socket::wait_read,
            beast::bind_front_handler(&WsSession::on_readable, this->shared_from_this()));
        return;
      }
      on_bytes(ec, buffer, n);
    } else {
      if (!tls_in_) tls_in_ = std::make_unique<char[]>(kTlsReadBytes);
      out_.next_layer().async_read_some(
          asio::buffer(tls_in_.get(), kTlsReadBytes),
          [self = this->shared_from_this()](error_code ec, std::size_t n) {
            self->on_bytes(ec, self->tls_in_.get(), n);
          });
    }
  }

  void on_readable(error_code ec) {
    if (ec) return finish(ec);
    do_read();
  }

  void on_bytes(error_code ec, char* data, std::size_t n) {
    if (ec) return finish(ec);
    parser_.feed(data, n, *this);
    report_counted();
    if (phase_ == Phase::kClosed || tearing_down_) return;  // teardown reads on its own
    asio::post(executor_, beast::bind_front_handler(&WsSession::do_read, this->shared_from_this()));
  }

  // FrameSink: what the parser found.

  void on_message(bool text, std::string_view payload) override {
    if (dropped_) return;
    if (!eio_) note_activity();  // Engine.IO v4 counts only its pong (on_engineio)
    // After close() the app has said its last word; late messages are not delivered.
    if (phase_ != Phase::kOpen) return;
    if (!text) {
      state_->handler.on_binary(id_, take_counted());
    } else if (eio_) {
      on_engineio(std::string(payload));
    } else {
      state_->handler.on_text(id_, transport_, std::string(payload), take_counted());
    }
  }

  void on_frame(WsOpcode, std::uint64_t wire_bytes) override {
    ++counted_.frames;
    counted_.bytes += wire_bytes;
  }

  FrameCount take_counted() { return std::exchange(counted_, FrameCount{}); }

  /// After a read: the frames that ended in no message go to the app as one batch, so a flood
  /// of pings, pongs or empty fragments costs it one call per read (PROTOCOL.md §10).
  void report_counted() {
    if (counted_.frames == 0) return;
    const FrameCount counted = take_counted();
    if (phase_ == Phase::kOpen && !dropped_) state_->handler.on_frames(id_, counted);
  }

  void on_ping(std::string_view payload) override {
    if (dropped_) return;
    if (!eio_) note_activity();
    // The pong is queued like every other frame: a peer that pings and never reads is
    // dropped once max_queue_bytes pend (PROTOCOL.md §10).
    if (phase_ == Phase::kOpen) write_own_frame(WsOpcode::kPong, payload);
  }

  void on_pong() override {
    if (dropped_) return;
    if (!eio_) note_activity();
  }

  void on_peer_close(std::uint16_t code, std::string_view) override {
    if (phase_ == Phase::kOpen) {
      // The peer started the closing handshake: answer with its code (RFC 6455 §5.5.1).
      peer_close_code_ = code;
      write_own_frame(WsOpcode::kClose, close_payload(code, {}));
    }
    // The peer's answer to our close, or ours to theirs: the handshake is done.
    start_teardown(/*linger=*/false);
  }

  void on_violation(std::uint16_t code, std::string_view cause) override {
    if (close_cause_.empty()) close_cause_ = std::string(cause);
    log_event(spdlog::level::debug, "ws.protocol_error",
              {{"conn", std::to_string(id_.value)}, {"cause", std::string(cause)}});
    if (phase_ == Phase::kOpen) {
      close_code_ = code;
      write_own_frame(WsOpcode::kClose, close_payload(code, {}));
    }
    start_teardown(/*linger=*/true);
  }

  // ---------------- writing and closing ----------------

  // Outgoing messages go straight into the coalescing layer as whole frames: everything
  // queued in one turn of the event loop leaves in one write. The bytes waiting there, plus
  // those still on their way to this strand, are the queue bounded by max_queue_bytes; a
  // reader that lets them pile up past it is dropped. A failed write surfaces through the
  // read (the socket is dead), so it needs no handling here.
  void on_send(std::shared_ptr<const std::string> frame) {
    const std::size_t n = frame->size();
    // Nothing after a close frame (RFC 6455 §5.5.1): ours, or our answer to the peer's.
    if (phase_ != Phase::kOpen) {
      queued_bytes_.fetch_sub(n);
      return;
    }
    if (!queue_holds(0)) {
      queued_bytes_.fetch_sub(n);
      return drop("slow reader: more than max_queue_bytes queued");
    }
    out_.write_frame(WsOpcode::kText, *frame);
    queued_bytes_.fetch_sub(n);
  }

  /// Whether the bytes waiting in the coalescing layer, those on their way to this strand and
  /// `more` stay within max_queue_bytes: the one bound of every frame this session writes.
  bool queue_holds(std::size_t more) const {
    return out_.buffered() + queued_bytes_.load() + more <= state_->options.max_queue_bytes;
  }

  /// Writes a control frame of the session's own (pong, ping, close). It counts against
  /// max_queue_bytes like the app's sends (PROTOCOL.md §10): when it would pass the bound the
  /// peer is not reading, and is dropped instead. Returns false then.
  bool write_own_frame(WsOpcode opcode, std::string_view payload) {
    if (dropped_) return false;
    const std::size_t n = payload.size() + kMaxFrameHeaderBytes;
    if (!queue_holds(n)) {
      drop("slow reader: more than max_queue_bytes queued");
      return false;
    }
    out_.write_frame(opcode, payload);
    return true;
  }

  void on_close_request(std::uint16_t code, std::string reason) {
    if (phase_ != Phase::kOpen) return;
    // A Socket.IO client reconnects after a bare close; `41` (io server disconnect) tells it
    // not to, for the closes it must not retry blindly (PROTOCOL.md §7).
    if (eio_ && sio_connected_ && eio::is_final_close(code)) send_own(eio::kDisconnectPacket);
    phase_ = Phase::kClosing;
    close_code_ = sendable_close_code(code);
    // The close frame follows every frame already written; reading goes on until the peer's
    // answer. One bound for draining the queue and the handshake (a peer that stopped reading
    // would hold both up forever); it replaces the ping timer.
    if (!write_own_frame(WsOpcode::kClose,
                         close_payload(close_code_, fit_close_reason(std::move(reason))))) {
      return;
    }
    arm_timer(state_->options.handshake_timeout);
  }

  /// The closing handshake is complete, or broken off by a peer that broke the protocol: flush
  /// (within handshake_timeout), then end TCP. After a complete handshake the peer sends
  /// nothing more, so the socket is simply closed (the server closes first, RFC 6455 §7.1.1).
  /// After a violation unread bytes may follow, and closing with them unread would send a reset
  /// that can destroy our close frame: `linger` shuts down our side and reads to the peer's end
  /// first. TLS always ends with close_notify.
  void start_teardown(bool linger) {
    if (tearing_down_ || phase_ == Phase::kClosed) return;
    tearing_down_ = true;
    phase_ = Phase::kClosing;
    arm_timer(state_->options.handshake_timeout);
    auto done = [self = this->shared_from_this()](error_code ec) { self->finish(ec); };
    if (kPlain && !linger) return out_.async_flush(std::move(done));
    async_teardown(beast::role_type::server, out_, std::move(done));
  }

  // Liveness (PROTOCOL.md §7, §9): every ping_interval a ping; when neither its pong nor any
  // other frame arrives within ping_timeout, the peer is gone and the socket is closed without
  // a close handshake. Each arm bumps the generation so a superseded wait does nothing.
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait(beast::bind_front_handler(&WsSession::on_timer, this->shared_from_this(),
                                                ++timer_generation_));
  }

  void on_timer(std::uint64_t generation, error_code) {
    if (generation != timer_generation_ || phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kClosing) return drop("close did not complete within handshake_timeout");
    if (eio_ && eio_version_ == eio::Version::k3) {
      return drop("no packet within ping_interval + ping_timeout");
    }
    if (awaiting_pong_) return drop("no pong within ping_timeout");
    if (eio_) {
      // Engine.IO v4: the server pings with a packet and expects `3` within ping_timeout.
      awaiting_pong_ = true;
      send_own(eio::kPingPacket);
      arm_timer(state_->options.ping_timeout);
      return;
    }
    // A write in flight since the last ping without finishing means the peer does not read.
    if (out_.flushing() && out_.flushes_done() == flushes_at_ping_) {
      return drop("writes stalled for a ping interval");
    }
    flushes_at_ping_ = out_.flushes_done();
    awaiting_pong_ = true;
    if (!write_own_frame(WsOpcode::kPing, {})) return;
    arm_timer(state_->options.ping_timeout);
  }

  void note_activity() {
    if (!awaiting_pong_) return;
    awaiting_pong_ = false;
    if (phase_ == Phase::kOpen) arm_timer(state_->options.ping_interval);
  }

  void close_socket() {
    error_code ignored;
    socket().close(ignored);
  }

  /// Ends the connection at once, without a close handshake; the pending read then finish()es.
  void drop(std::string cause) {
    if (phase_ == Phase::kClosed) return;
    dropped_ = true;  // the frames still parsed from the last read are ignored
    if (close_cause_.empty()) close_cause_ = std::move(cause);
    close_socket();
  }

  /// The connection ended (read failed, teardown done): the one place that reports on_close,
  /// exactly once.
  void finish(error_code ec) {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ++timer_generation_;
    timer_.cancel();
    close_socket();  // aborts a stuck write

    // The code we sent, else the peer's, else 1006 (no close frame).
    std::uint16_t code = close_code_ ? close_code_ : peer_close_code_ ? peer_close_code_ : 1006;
    std::string cause = !close_cause_.empty()             ? close_cause_
                        : close_code_ || peer_close_code_ ? std::string("closed")
                                                          : ec.message();
    state_->registry.remove(id_);
    if (Metrics* metrics = state_->options.metrics) metrics->connection_closed(transport_);
    log_event(spdlog::level::info, "connection.closed",
              {{"conn", std::to_string(id_.value)},
               {"peer", peer_ip_},
               {"transport", std::string(to_string(transport_))},
               {"code", std::to_string(code)},
               {"cause", cause}});
    state_->handler.on_close(id_);
  }

  const asio::any_io_executor executor_;  // the connection's strand
  CoalescingStream<Stream> out_;          // the socket; writes batched per event-loop turn
  const core::ConnId id_;
  const Transport transport_;
  const std::shared_ptr<ServerState> state_;
  const std::string peer_ip_;
  Admission::Ticket ticket_;  // this connection's place in the limits' counts

  // Strand only:
  Phase phase_ = Phase::kHandshake;
  std::shared_ptr<Connection> handle_;  // given to the app and the registry once open
  FrameParser parser_;
  std::unique_ptr<char[]> tls_in_;  // TLS only
  bool tearing_down_ = false;       // the closing handshake is over; shutting down
  std::uint16_t close_code_ = 0;    // the code of the close frame we sent
  std::uint16_t peer_close_code_ = 0;
  std::string close_cause_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  std::uint64_t flushes_at_ping_ = 0;
  bool awaiting_pong_ = false;
  bool dropped_ = false;            // drop() closed the socket; finish() follows from the read
  FrameCount counted_;              // frames parsed and not yet handed to the app with a message
  const bool eio_;                  // a /socket.io/ connection
  const eio::Version eio_version_;  // meaningful only when eio_
  std::string sid_;                 // Engine.IO session id, set at open
  bool sio_connected_ = false;      // the client is connected to the namespace "/"

  // Any thread:
  std::atomic<std::size_t> queued_bytes_{0};  // passed to send(), not yet written or discarded
  std::atomic<bool> drop_posted_{false};
  std::atomic<bool> close_called_{false};
};

template <class Stream>
void start(Stream stream, std::string_view handshake, std::string early, Transport transport,
           std::shared_ptr<ServerState> state, std::string peer_ip, Admission::Ticket ticket) {
  std::make_shared<WsSession<Stream>>(std::move(stream), transport, std::move(state),
                                      std::move(peer_ip), std::move(ticket))
      ->run(handshake, std::move(early));
}

}  // namespace

void run_ws_session(tcp::socket socket, std::string_view handshake, std::string early,
                    Transport transport, std::shared_ptr<ServerState> state, std::string peer_ip,
                    Admission::Ticket ticket) {
  error_code ec;
  socket.non_blocking(true, ec);  // reads are tried first and waited for only when empty
  start(std::move(socket), handshake, std::move(early), transport, std::move(state),
        std::move(peer_ip), std::move(ticket));
}

void run_ws_session(beast::ssl_stream<beast::tcp_stream> stream, std::string_view handshake,
                    std::string early, Transport transport, std::shared_ptr<ServerState> state,
                    std::string peer_ip, Admission::Ticket ticket) {
  start(std::move(stream), handshake, std::move(early), transport, std::move(state),
        std::move(peer_ip), std::move(ticket));
}

}  // namespace ws::net::detail
