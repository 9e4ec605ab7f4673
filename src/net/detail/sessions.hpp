// Entry points of the HTTP and WebSocket sessions (templated on the stream type inside).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/detail/routes.hpp"
#include "net/detail/server_state.hpp"

namespace ws::net::detail {

/// Serves one accepted TCP connection: TLS handshake when options.tls, then HTTP requests until
/// the peer leaves, a timeout, or an upgrade hands the stream to a WebSocket session. The
/// socket must be bound to its own strand; the session keeps itself (and `state`) alive.
/// `peer` is the client's address as accepted. `ticket` is the connection's admission: it keeps
/// its place in the counts until the connection ends, and an upgrade it refuses gets 503/429.
void run_http_session(boost::asio::ip::tcp::socket socket, const boost::asio::ip::address& peer,
                      std::shared_ptr<ServerState> state, Admission::Ticket ticket);

/// Takes over a connection whose upgrade request was accepted: writes `handshake` (the 101
/// answer), hands `early` (bytes the client sent after its request) and everything after to the
/// WebSocket framing, and reports to state->handler. Runs on the stream's strand; self-owned.
void run_ws_session(boost::asio::ip::tcp::socket socket, std::string_view handshake,
                    std::string early, Transport transport, std::shared_ptr<ServerState> state,
                    std::string peer_ip, Admission::Ticket ticket);
void run_ws_session(boost::beast::ssl_stream<boost::beast::tcp_stream> stream,
                    std::string_view handshake, std::string early, Transport transport,
                    std::shared_ptr<ServerState> state, std::string peer_ip,
                    Admission::Ticket ticket);

}  // namespace ws::net::detail
