// HTTP routing (PROTOCOL.md §1): the route table and the built-in endpoints.
#include "net/detail/routes.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

namespace ws::net::detail {
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kTextHtml = "text/html; charset=utf-8";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kJson = "application/json";

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string allow_header(const std::vector<http::verb>& methods) {
  std::string allow;
  auto append = [&allow](std::string_view name) {
    if (!allow.empty()) allow += ", ";
    allow += name;
  };
  for (http::verb m : methods) {
    append(http::to_string(m));
    if (m == http::verb::get) append("HEAD");
  }
  return allow;
}

std::string index_page(std::string_view version) {
  const std::string v = html_escape(version);
  return "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
         "<title>workspaces " +
         v + "</title></head>\n<body>\n<h1>workspaces signaling server " + v +
         " is running</h1>\n<p><a href=\"/demo/\">Open the demo</a></p>\n</body>\n</html>\n";
}

/// The value of query parameter `key` of the request target, empty when absent.
std::string query_param(const Request& req, std::string_view key) {
  auto target = boost::urls::parse_uri_reference(req.target());
  if (!target) return {};
  auto params = target->params();
  auto it = params.find(key);
  if (it == params.end() || !(*it).has_value) return {};
  return std::string((*it).value);
}

/// An Engine.IO handshake error: HTTP 400 with `{"code":..,"message":..}` as engine.io answers
/// it, so socket.io-client reports the message (codes: 0 unknown transport, 3 bad request,
/// 5 unsupported protocol version). `message` is fixed ASCII text without quotes.
Response engineio_error(int code, std::string_view message) {
  return make_response(
      http::status::bad_request, kJson,
      "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) + "\"}");
}

/// GET /socket.io/ (PROTOCOL.md §7): an upgrade to Engine.IO v4 or v3 over WebSocket; long
/// polling is refused with a message saying how to configure the client.
Reply socketio_route(const Request& req) {
  if (query_param(req, "transport") != "websocket" || !boost::beast::websocket::is_upgrade(req)) {
    return engineio_error(3,
                          "Bad request: only the websocket transport is supported; create the "
                          "client with transports: ['websocket']");
  }
  const std::string version = query_param(req, "EIO");
  if (version == "4") return Upgrade{Transport::kEio4};
  if (version == "3") return Upgrade{Transport::kEio3};
  return engineio_error(5, "Unsupported protocol version: EIO=4 and EIO=3 are supported");
}

std::string_view content_type_of(std::string_view path) {
  struct Type {
    std::string_view extension, type;
  };
  static constexpr Type kTypes[] = {
      {".html", kTextHtml},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webmanifest", "application/manifest+json"},
      {".ts", kTextPlain},  // .d.ts: read, never run
  };
  for (const Type& t : kTypes) {
    if (path.ends_with(t.extension)) return t.type;
  }
  return "application/octet-stream";
}

/// A strong validator for a body that never changes while the process runs (FNV-1a, 64 bit).
std::string etag_of(std::string_view body) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char text[20];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return "\"" + std::string(text) + "\"";
}

/// True when an If-None-Match list names `etag` (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view item = if_none_match.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison (RFC 9110 §13.1.2)
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Response static_file_response(const Request& req, std::string_view path, std::string_view body,
                              const std::string& etag) {
  const bool fresh = etag_matches(req[http::field::if_none_match], etag);
  Response res = fresh ? make_response(http::status::not_modified, content_type_of(path), "")
                       : make_response(http::status::ok, content_type_of(path), std::string(body));
  if (fresh) res.erase(http::field::content_type);
  res.set(http::field::etag, etag);
  res.set(http::field::cache_control, "no-cache");
  res.set("Content-Security-Policy", kStaticCsp);
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)");
  // The SDK is a public library: pages on other origins may import it (module scripts are
  // fetched with CORS). No credentials are involved.
  if (path.starts_with("/sdk/")) res.set(http::field::access_control_allow_origin, "*");
  return res;
}

void RouteTable::add(Route route) {
  routes_.push_back(std::move(route));
}

Reply RouteTable::dispatch(const Request& req) const {
  // origin-form ("/ws?x=1") is what clients send; absolute-form is accepted too (RFC 9112 §3.2).
  auto target = boost::urls::parse_uri_reference(req.target());
  if (!target) return make_response(http::status::bad_request, kTextPlain, "bad request target");
  const std::string_view path = target->encoded_path();

  const http::verb method = req.method() == http::verb::head ? http::verb::get : req.method();
  for (const Route& route : routes_) {
    const bool match = route.prefix ? path.starts_with(route.path) : path == route.path;
    if (!match) continue;
    if (std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end()) {
      return route.handle(req);
    }
    Response res =
        make_response(http::status::method_not_allowed, kTextPlain, "method not allowed");
    res.set(http::field::allow, allow_header(route.methods));
    return res;
  }
  return make_response(http::status::not_found, kTextPlain, "not found");
}

RouteTable default_routes(std::string version, HttpHooks hooks, std::function<bool()> accepting,
                          const std::vector<StaticFile>& files) {
  RouteTable table;
  const std::vector<http::verb> get = {http::verb::get};

  table.add({"/", false, get, [page = index_page(version)](const Request&) -> Reply {
               return make_response(http::status::ok, kTextHtml, page);
             }});
  table.add({"/healthz", false, get, [](const Request&) -> Reply {
               return make_response(http::status::ok, kTextPlain, "ok");
             }});
  table.add({"/readyz", false, get,
             [ready = hooks.ready, accepting = std::move(accepting)](const Request&) -> Reply {
               // PROTOCOL.md §4.3: 503 as soon as the drain starts.
               if (!accepting()) {
                 return make_response(http::status::service_unavailable, kTextPlain, "draining");
               }
               if (ready && !ready()) {
                 return make_response(http::status::service_unavailable, kTextPlain, "not ready");
               }
               return make_response(http::status::ok, kTextPlain, "ready");
             }});
  table.add({"/metrics", false, get, [metrics = hooks.metrics](const Request&) -> Reply {
               return make_response(http::status::ok, kPrometheusText,
                                    metrics ? metrics() : std::string());
             }});
  table.add({"/ws", false, get, [](const Request& req) -> Reply {
               if (boost::beast::websocket::is_upgrade(req)) return Upgrade{Transport::kNative};
               // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
               Response res = make_response(http::status::upgrade_required, kTextPlain,
                                            "this endpoint speaks WebSocket only");
               res.set(http::field::upgrade, "websocket");
               return res;
             }});
  table.add({"/socket.io/", true, get, socketio_route});
  for (const StaticFile& file : files) {
    auto serve = [path = file.path, body = file.body,
                  etag = etag_of(file.body)](const Request& req) -> Reply {
      return static_file_response(req, path, body, etag);
    };
    table.add({file.path, false, get, serve});
    if (file.path == "/demo/index.html") {
      table.add({"/demo/", false, get, serve});
      table.add({"/demo", false, get, [](const Request&) -> Reply {
                   Response res = make_response(http::status::permanent_redirect, kTextPlain,
                                                "moved to /demo/");
                   res.set(http::field::location, "/demo/");
                   return res;
                 }});
    }
  }
  return table;
}

Response make_response(http::status status, std::string_view content_type, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

void finalize(Response& res, std::string_view server_header, bool keep_alive, bool head) {
  res.set(http::field::server, server_header);
  res.set("X-Content-Type-Options", "nosniff");
  if (res.find(http::field::cache_control) == res.end()) {
    res.set(http::field::cache_control, "no-store");
  }
  res.keep_alive(keep_alive);
  res.prepare_payload();
  // RFC 9110 §9.3.2: HEAD gets GET's headers, Content-Length included, without the body.
  if (head) res.body().clear();
}

}  // namespace ws::net::detail
