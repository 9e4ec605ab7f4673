// WebSocket session (plain or TLS): handshake, read loop to the ConnectionHandler, bounded write
// queue, ping/pong liveness and orderly close (PROTOCOL.md §2, §7, §9); on /socket.io/ also the
// Engine.IO/Socket.IO duties (open, connect, heartbeat, disconnect) around the app's events.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/detail/coalescing_stream.hpp"
#include "net/detail/engineio.hpp"
#include "net/detail/io_errors.hpp"
#include "net/detail/sessions.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

namespace ws::net::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;

// ConnIds are unique for the life of the process (core/ids.hpp); 0 is never used.
std::atomic<std::uint64_t> next_conn_id{1};

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

 private:
  const core::ConnId id_;
  const Transport transport_;
  const std::weak_ptr<Session> session_;
};

/// One WebSocket connection. Owned by its pending handlers only (the app holds a
/// SessionHandle); everything runs on the connection's strand except send() and close(),
/// which may be called from any thread and post to it.
template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream stream, Transport transport, std::shared_ptr<ServerState> state,
            std::string peer_ip)
      : executor_(stream.get_executor()),
        ws_(std::move(stream)),
        id_{next_conn_id.fetch_add(1)},
        transport_(transport),
        state_(std::move(state)),
        peer_ip_(std::move(peer_ip)),
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

  /// Called on the strand by the HTTP session that read `req`.
  void run(const Request& req) {
    const ServerOptions& options = state_->options;
    ws_.set_option(websocket::permessage_deflate{});  // all off: no compression
    // Beast's timer bounds the opening and closing handshakes only; liveness is ours (below).
    ws_.set_option(websocket::stream_base::timeout{options.handshake_timeout,
                                                   websocket::stream_base::none(), false});
    ws_.set_option(websocket::stream_base::decorator(
        [server = state_->server_header](websocket::response_type& res) {
          res.set(http::field::server, server);
        }));
    // Over the limit Beast fails the read with message_too_big and sends close 1009 itself.
    ws_.read_message_max(options.max_frame_bytes);
    // Engine.IO liveness is its own ping/pong packets (PROTOCOL.md §7), not WebSocket frames.
    if (!eio_) {
      ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::close) note_activity();
      });
    }
    ws_.async_accept(req,
                     beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

 private:
  enum class Phase { kHandshake, kOpen, kClosing, kClosed };

  void on_accept(error_code ec) {
    if (ec) {
      phase_ = Phase::kClosed;
      log_event(spdlog::level::debug, "ws.handshake_failed",
                {{"peer", peer_ip_}, {"error", ec.message()}});
      return;
    }
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
    do_read();
    if (state_->options.ping_interval.count() > 0) arm_timer(heartbeat_wait());
  }

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
        state_->handler.on_text(id_, transport_, std::move(in.text));
        break;
      case Kind::kPong:
        note_activity();
        break;
      case Kind::kConnect:
        sio_connected_ = true;
        send_own(eio::connect_packet(sid_, eio_version_));
        break;
      case Kind::kDisconnect:
        on_close_request(websocket::close_code::normal, "client disconnect");
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
        on_close_request(websocket::close_code::protocol_error, std::move(in.cause));
        break;
    }
  }

  void do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec) return finish(ec);
    if (!eio_) note_activity();  // Engine.IO v4 counts only its pong (on_engineio)
    // After close() the app has said its last word; late messages are not delivered.
    if (phase_ == Phase::kOpen && !close_request_) {
      if (!ws_.got_text()) {
        state_->handler.on_binary(id_);
      } else if (eio_) {
        on_engineio(beast::buffers_to_string(buffer_.data()));
      } else {
        state_->handler.on_text(id_, transport_, beast::buffers_to_string(buffer_.data()));
      }
    }
    buffer_.consume(buffer_.size());
    // An idle connection holds no read buffer either (Beast reads into its own frame buffer
    // first); a busy one reallocates once per message.
    buffer_.shrink_to_fit();
    do_read();
  }

  // Outgoing messages go straight into the coalescing layer as whole frames (its write_frame):
  // everything queued in one turn of the event loop leaves in one write. The bytes waiting
  // there, plus those still on their way to this strand, are the queue bounded by
  // max_queue_bytes; a reader that lets them pile up past it is dropped. A failed write
  // surfaces through the read loop (the socket is dead), so it needs no handling here.
  void on_send(std::shared_ptr<const std::string> frame) {
    const std::size_t n = frame->size();
    // Nothing after a close frame (RFC 6455 §5.5.1): ours, or Beast's answer to the peer's.
    if (phase_ != Phase::kOpen || close_request_ || !ws_.is_open()) {
      queued_bytes_.fetch_sub(n);
      return;
    }
    auto& out = ws_.next_layer();
    if (out.buffered() + queued_bytes_.load() > state_->options.max_queue_bytes) {
      queued_bytes_.fetch_sub(n);
      return drop("slow reader: more than max_queue_bytes queued");
    }
    out.write_frame(1, *frame);  // text
    queued_bytes_.fetch_sub(n);
  }

  void on_close_request(std::uint16_t code, std::string reason) {
    if (phase_ != Phase::kOpen || close_request_) return;
    // A Socket.IO client reconnects after a bare close; `41` (io server disconnect) tells it
    // not to, for the closes it must not retry blindly (PROTOCOL.md §7).
    if (eio_ && sio_connected_ && eio::is_final_close(code)) send_own(eio::kDisconnectPacket);
    close_request_ =
        websocket::close_reason(static_cast<websocket::close_code>(sendable_close_code(code)),
                                fit_close_reason(std::move(reason)));
    // One bound for draining the queue and the close handshake (a peer that stopped reading
    // would hold both up forever); it replaces the ping timer.
    arm_timer(state_->options.handshake_timeout);
    do_close();  // the close frame follows every frame already handed to the layer
  }

  void do_close() {
    phase_ = Phase::kClosing;
    close_code_ = close_request_->code;
    ws_.async_close(*close_request_,
                    beast::bind_front_handler(&WsSession::on_close, this->shared_from_this()));
  }

  void on_close(error_code ec) {
    // The pending read completes too and finish()es the session.
    if (ec && !is_benign(ec))
      log_event(spdlog::level::debug, "ws.close_failed",
                {{"conn", std::to_string(id_.value)}, {"error", ec.message()}});
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
    if (close_request_) return drop("close did not complete within handshake_timeout");
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
    // A ping still unsent after a whole interval means our writes are stuck: the peer does
    // not read.
    if (ping_in_flight_) return drop("writes stalled for a ping interval");
    awaiting_pong_ = true;
    ping_in_flight_ = true;
    ws_.async_ping({}, beast::bind_front_handler(&WsSession::on_ping, this->shared_from_this()));
    arm_timer(state_->options.ping_timeout);
  }

  void on_ping(error_code ec) {
    ping_in_flight_ = false;
    if (ec && !is_benign(ec))
      log_event(spdlog::level::debug, "ws.ping_failed",
                {{"conn", std::to_string(id_.value)}, {"error", ec.message()}});
  }

  void note_activity() {
    if (!awaiting_pong_) return;
    awaiting_pong_ = false;
    if (phase_ == Phase::kOpen && !close_request_) arm_timer(state_->options.ping_interval);
  }

  /// Ends the connection at once, without a close handshake; the read loop then finish()es.
  void drop(std::string cause) {
    if (phase_ == Phase::kClosed) return;
    if (close_cause_.empty()) close_cause_ = std::move(cause);
    beast::get_lowest_layer(ws_).close();
  }

  /// The read loop ended: the one place that reports on_close, exactly once.
  void finish(error_code ec) {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ++timer_generation_;
    timer_.cancel();
    beast::get_lowest_layer(ws_).close();  // aborts a stuck write

    std::uint16_t code = close_code_;  // ours, when we started the close
    if (code == 0) {
      if (ec == websocket::error::closed) {
        code = ws_.reason().code;  // the peer's; an empty close frame reports 1005
        if (code == websocket::close_code::none) code = websocket::close_code::no_status;
      } else if (ec == websocket::error::message_too_big) {
        code = websocket::close_code::too_big;  // sent by Beast
      } else if (ec == websocket::error::bad_frame_payload) {
        code = websocket::close_code::bad_payload;  // invalid UTF-8, sent by Beast
      } else {
        code = websocket::close_code::abnormal;  // 1006: no close frame
      }
    }
    std::string cause = !close_cause_.empty()            ? close_cause_
                        : ec == websocket::error::closed ? std::string("closed")
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

  const asio::any_io_executor executor_;            // the connection's strand
  websocket::stream<CoalescingStream<Stream>> ws_;  // writes batched per event-loop turn
  const core::ConnId id_;
  const Transport transport_;
  const std::shared_ptr<ServerState> state_;
  const std::string peer_ip_;

  // Strand only:
  Phase phase_ = Phase::kHandshake;
  std::shared_ptr<Connection> handle_;  // given to the app and the registry once open
  beast::flat_buffer buffer_;
  std::optional<websocket::close_reason> close_request_;
  std::uint16_t close_code_ = 0;
  std::string close_cause_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  bool awaiting_pong_ = false;
  bool ping_in_flight_ = false;
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
void start(Stream stream, const Request& req, Transport transport,
           std::shared_ptr<ServerState> state, std::string peer_ip) {
  std::make_shared<WsSession<Stream>>(std::move(stream), transport, std::move(state),
                                      std::move(peer_ip))
      ->run(req);
}

}  // namespace

void run_ws_session(beast::tcp_stream stream, Request req, Transport transport,
                    std::shared_ptr<ServerState> state, std::string peer_ip) {
  start(std::move(stream), req, transport, std::move(state), std::move(peer_ip));
}

void run_ws_session(beast::ssl_stream<beast::tcp_stream> stream, Request req, Transport transport,
                    std::shared_ptr<ServerState> state, std::string peer_ip) {
  start(std::move(stream), req, transport, std::move(state), std::move(peer_ip));
}

}  // namespace ws::net::detail
