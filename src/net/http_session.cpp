// HTTP session (plain or TLS): reads requests with size and time limits, answers them from the
// route table, and hands WebSocket upgrades over to a WebSocket session.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/detail/io_errors.hpp"
#include "net/detail/sessions.hpp"
#include "net/detail/ws_frames.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

namespace ws::net::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// How long a closing connection may keep sending before we stop reading (lingering close,
// RFC 9112 §9.6): long enough for the peer to read our error response instead of a reset.
constexpr std::chrono::seconds kLingerTimeout{1};
constexpr std::size_t kLingerMaxBytes = 64 * 1024;

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category();
}

/// `origin` in the form allowed_origins compares: lower case, no trailing slash.
std::string normalized_origin(std::string_view origin) {
  while (!origin.empty() && origin.back() == '/') origin.remove_suffix(1);
  std::string out(origin);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// PROTOCOL.md §10: an empty list allows every origin, and a request with no Origin header (a
/// non-browser client) is always allowed; otherwise the Origin must be on the list.
bool origin_allowed(const Request& req, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  const auto it = req.find(http::field::origin);
  if (it == req.end()) return true;
  const std::string origin = normalized_origin(it->value());
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& entry) { return normalized_origin(entry) == origin; });
}

/// One HTTP connection. Self-owned through shared_from_this() in its pending handlers; every
/// member function runs on the socket's strand.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  HttpSession(tcp::socket socket, std::shared_ptr<ServerState> state, std::string peer_ip,
              Admission::Ticket ticket)
      : stream_(make_stream(std::move(socket), *state)),
        state_(std::move(state)),
        peer_ip_(std::move(peer_ip)),
        ticket_(std::move(ticket)) {}

  void run() {
    // A connection that never upgrades is the first to go when max_connections is reached
    // and a newcomer arrives (oldest first, PROTOCOL.md §10).
    ticket_.set_closer([weak = this->weak_from_this(), executor = stream_.get_executor()] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->evicted();
      });
    });
    // The accepted socket lives on its own strand; start there (Beast's advanced server).
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&HttpSession::start, this->shared_from_this()));
  }

 private:
  static Stream make_stream(tcp::socket socket, ServerState& state) {
    if constexpr (kTls) {
      // The context of the moment: a reload swaps it for later connections only.
      return Stream(std::move(socket), *state.tls.get());
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void evicted() {
    if (upgraded_) return;  // the WebSocket session has the socket and its own closer
    log_event(spdlog::level::debug, "connection.evicted", {{"peer", peer_ip_}});
    error_code ignored;
    lowest().socket().close(ignored);
  }
  std::chrono::milliseconds timeout() const { return state_->options.handshake_timeout; }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(timeout());
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(error_code ec) {
    if (ec == beast::error::timeout) return timed_out("tls");
    if (ec) {
      log_event(spdlog::level::debug, "tls.handshake_failed",
                {{"peer", peer_ip_}, {"error", ec.message()}});
      return;
    }
    do_read();
  }

  /// Counts, logs (debug: a flood must not flood the log) and answers a refused upgrade.
  void refuse(std::string_view reason, http::status status) {
    if (state_->options.metrics) state_->options.metrics->connection_refused(reason);
    log_event(spdlog::level::debug, "connection.refused",
              {{"peer", peer_ip_}, {"reason", std::string(reason)}});
    reply_error(status, reason);
  }

  void timed_out(std::string_view phase) {
    if (state_->options.metrics) state_->options.metrics->handshake_timeout();
    log_event(spdlog::level::debug, "http.timeout",
              {{"peer", peer_ip_}, {"phase", std::string(phase)}});
  }

  void do_read() {
    const auto& options = state_->options;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(options.max_body_bytes);
    // Slow headers and idle keep-alive connections both end here (PROTOCOL.md §10).
    lowest().expires_after(timeout());
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_shutdown(false);
    if (ec == http::error::header_limit) {
      return reply_error(http::status::request_header_fields_too_large, "headers too large");
    }
    if (ec == http::error::body_limit) {
      return reply_error(http::status::payload_too_large, "body too large");
    }
    if (ec && is_http_parse_error(ec)) return reply_error(http::status::bad_request, "bad request");
    if (ec == beast::error::timeout) return timed_out("headers");
    if (ec) {
      if (!is_benign(ec))
        log_event(spdlog::level::debug, "http.read_failed",
                  {{"peer", peer_ip_}, {"error", ec.message()}});
      return;
    }

    Request req = parser_->release();
    Reply reply = state_->routes.dispatch(req);
    if (auto* upgrade = std::get_if<Upgrade>(&reply)) {
      return start_upgrade(std::move(req), upgrade->transport);
    }
    auto& res = std::get<Response>(reply);
    res.version(req.version());
    write(std::move(res), req.keep_alive(), req.method() == http::verb::head);
  }

  void start_upgrade(Request req, Transport transport) {
    if (!beast::websocket::is_upgrade(req)) {
      return reply_error(http::status::bad_request, "expected a WebSocket upgrade");
    }
    if (!state_->accepting.load()) {
      return refuse("draining", http::status::service_unavailable);
    }
    // Decided when the connection was accepted (PROTOCOL.md §10); plain HTTP is still served.
    if (const Refusal refusal = ticket_.refusal(); refusal != Refusal::kNone) {
      return refuse(to_string(refusal), refusal == Refusal::kMaxConnections
                                            ? http::status::service_unavailable
                                            : http::status::too_many_requests);
    }
    if (!origin_allowed(req, state_->options.allowed_origins)) {
      return refuse("origin", http::status::forbidden);
    }
    HandshakeAnswer answer = answer_upgrade(req, state_->server_header);
    if (!answer.ok) {
      log_event(spdlog::level::debug, "ws.handshake_failed",
                {{"peer", peer_ip_}, {"error", answer.error}});
      return write(std::move(answer.response), false, false);
    }
    // The WebSocket session keeps its own time (pings, the closing handshake's bound).
    lowest().expires_never();
    upgraded_ = true;
    std::string early = beast::buffers_to_string(buffer_.data());
    const std::string handshake = serialize(answer.response);
    if constexpr (kTls) {
      run_ws_session(std::move(stream_), handshake, std::move(early), transport, state_,
                     std::move(peer_ip_), std::move(ticket_));
    } else {
      run_ws_session(stream_.release_socket(), handshake, std::move(early), transport, state_,
                     std::move(peer_ip_), std::move(ticket_));
    }
  }

  /// Answers a request we will not serve further (limits, bad syntax, draining) and closes.
  void reply_error(http::status status, std::string_view text) {
    write(make_response(status, "text/plain; charset=utf-8", std::string(text)), false, false);
  }

  void write(Response res, bool keep_alive, bool head) {
    finalize(res, state_->server_header, keep_alive, head);
    lowest().expires_after(timeout());
    beast::async_write(
        stream_, http::message_generator(std::move(res)),
        beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, error_code ec, std::size_t) {
    if (ec) {
      if (!is_benign(ec))
        log_event(spdlog::level::debug, "http.write_failed",
                  {{"peer", peer_ip_}, {"error", ec.message()}});
      return;
    }
    if (!keep_alive) return do_shutdown(true);
    do_read();
  }

  /// Ends the connection. `linger`: we close first, so read (and discard) what the peer still
  /// sends for a moment, else unread bytes would turn our close into a reset that can destroy
  /// the response we just wrote.
  void do_shutdown(bool linger) {
    if constexpr (kTls) {
      lowest().expires_after(kLingerTimeout);
      stream_.async_shutdown(
          beast::bind_front_handler(&HttpSession::on_shutdown, this->shared_from_this()));
    } else {
      error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (linger) {
        lowest().expires_after(kLingerTimeout);
        do_linger();
      }
    }
  }

  void do_linger() {
    buffer_.clear();
    lowest().async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&HttpSession::on_linger, this->shared_from_this()));
  }

  void on_linger(error_code ec, std::size_t n) {
    lingered_ += n;
    if (!ec && lingered_ < kLingerMaxBytes) do_linger();
  }

  void on_shutdown(error_code ec) {
    if (ec && !is_benign(ec))
      log_event(spdlog::level::debug, "tls.shutdown_failed",
                {{"peer", peer_ip_}, {"error", ec.message()}});
  }

  Stream stream_;
  std::shared_ptr<ServerState> state_;
  std::string peer_ip_;
  Admission::Ticket ticket_;  // handed to the WebSocket session on upgrade
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::size_t lingered_ = 0;
  bool upgraded_ = false;  // the socket went to a WebSocket session
};

}  // namespace

void run_http_session(tcp::socket socket, const asio::ip::address& peer,
                      std::shared_ptr<ServerState> state, Admission::Ticket ticket) {
  std::string peer_ip = unmapped(peer).to_string();
  if (state->options.tls) {
    std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(socket), std::move(state), std::move(peer_ip), std::move(ticket))
        ->run();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), std::move(state),
                                                     std::move(peer_ip), std::move(ticket))
        ->run();
  }
}

}  // namespace ws::net::detail
