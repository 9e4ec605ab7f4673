// The HTTP route table: which path answers what, and which path upgrades to which transport.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "net/server.hpp"

namespace ws::net::detail {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

/// A route's answer to an upgrade request: hand the connection to a WebSocket session of this
/// transport (the HTTP session checks admission, e.g. 503 while draining).
struct Upgrade {
  Transport transport;
};

/// What a route handler returns: a response to write, or an upgrade.
using Reply = std::variant<Response, Upgrade>;

/// One entry of the table. Value type; `handle` runs on the requesting session's strand and
/// must be thread-safe (sessions run on several I/O threads).
struct Route {
  std::string path;     // exact path, or the path prefix when `prefix` (e.g. "/socket.io/")
  bool prefix = false;  //
  std::vector<boost::beast::http::verb> methods;  // allowing GET allows HEAD too
  std::function<Reply(const Request&)> handle;
};

/// The server's routes, checked in insertion order. Built once before the server starts,
/// then read-only (so safe to share between I/O threads).
class RouteTable {
 public:
  void add(Route route);
  /// Finds the route for the request target's path: 404 when none, 405 (with Allow) when the
  /// method is not one of the route's, 400 for an unparsable target; else the route's reply.
  /// HEAD is answered as GET; the session strips the body (finalize()).
  Reply dispatch(const Request& req) const;

 private:
  std::vector<Route> routes_;
};

/// The endpoints of PROTOCOL.md §1 served today: /, /healthz, /readyz, /metrics, /ws and
/// /socket.io/ (prefix; Upgrade{kEio4/kEio3} by the EIO query parameter, websocket only).
/// `accepting` tells /readyz whether stop_accepting() was called ("draining").
/// Plus each of `files` (see ServerOptions::static_files).
RouteTable default_routes(std::string version, HttpHooks hooks, std::function<bool()> accepting,
                          const std::vector<StaticFile>& files = {});

/// The Content-Security-Policy of the static pages: scripts, styles and connections from this
/// origin only; media from the camera and peers; no framing, no plugins.
inline constexpr std::string_view kStaticCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// GET/HEAD of one static file: 200 with its content type, ETag, `Cache-Control: no-cache`
/// (always revalidate, so a new build is seen at once) and the security headers; 304 when
/// If-None-Match names the current ETag. /sdk/ files also allow any origin (CORS).
Response static_file_response(const Request& req, std::string_view path, std::string_view body,
                              const std::string& etag);

/// A response with a body and content type; the caller finalizes it.
Response make_response(boost::beast::http::status status, std::string_view content_type,
                       std::string body);

/// Adds the headers every response carries (Server, X-Content-Type-Options, Cache-Control
/// no-store unless the route chose one), sets keep-alive and Content-Length, and drops the body
/// of a HEAD response (`head`), keeping its Content-Length.
void finalize(Response& res, std::string_view server_header, bool keep_alive, bool head);

}  // namespace ws::net::detail
