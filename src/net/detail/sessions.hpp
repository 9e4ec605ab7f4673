// Entry points of the HTTP and WebSocket sessions (templated on the stream type inside).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/detail/routes.hpp"
#include "net/detail/server_state.hpp"

namespace ws::net::detail {

/// Serves one accepted TCP connection: TLS handshake when state->tls, then HTTP requests until
/// the peer leaves, a timeout, or an upgrade hands the stream to a WebSocket session. The
/// socket must be bound to its own strand; the session keeps itself (and `state`) alive.
void run_http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

/// Takes over an HTTP stream whose request asked for a WebSocket upgrade: completes the
/// handshake, then reports to state->handler. Runs on the stream's strand; self-owned.
void run_ws_session(boost::beast::tcp_stream stream, Request req, Transport transport,
                    std::shared_ptr<ServerState> state, std::string peer_ip);
void run_ws_session(boost::beast::ssl_stream<boost::beast::tcp_stream> stream, Request req,
                    Transport transport, std::shared_ptr<ServerState> state, std::string peer_ip);

}  // namespace ws::net::detail
