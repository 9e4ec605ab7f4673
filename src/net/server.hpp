// The net layer's public face: the HTTP/WebSocket server and the interfaces the app plugs into it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ws::net {

class Metrics;

/// Wire protocol of a connection: native JSON frames on /ws, or Socket.IO over Engine.IO v4 / v3
/// on /socket.io/ (PROTOCOL.md §7).
enum class Transport { kNative, kEio4, kEio3 };

/// Metric/log label of a transport: "native", "eio4", "eio3".
std::string_view to_string(Transport transport);

/// One client connection as the app sees it. Thread-safe: every method may be called from any
/// thread. A light handle: the app may keep it as long as it likes, even past the Server and the
/// io_context; once the connection is closed, send() and close() do nothing.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual core::ConnId id() const = 0;
  virtual Transport transport() const = 0;
  /// Queue one text frame (already serialised). If the bytes queued but not yet written exceed
  /// max_queue_bytes, the connection is dropped (slow reader), never buffering without bound.
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  /// Write everything already queued, then a WebSocket close frame with `code`/`reason`, then
  /// shut down. On Socket.IO, a final close (4001, 4002, 4003, 1008) is preceded by `41`.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// The connection is (true) or is no longer (false) bound to a member: a bound connection is
  /// never evicted when max_connections is reached (PROTOCOL.md §10).
  virtual void set_bound(bool bound) = 0;
};

/// The WebSocket frames a client sent and their bytes on the wire (headers included), for the
/// per-connection rate limits (PROTOCOL.md §10): every frame counts, data, continuation and
/// control alike.
struct FrameCount {
  std::uint32_t frames = 0;
  std::uint64_t bytes = 0;
};

/// Implemented by the app. Called from I/O threads; per connection the calls are ordered:
/// on_open, then on_text/on_binary/on_frames..., then exactly one on_close. The net layer
/// carries out the Engine.IO/Socket.IO duties itself (open, connect, heartbeat, disconnect):
/// of a Socket.IO connection only event packets reach on_text.
///
/// Every frame the client sends is counted exactly once: a message carries the frames read
/// since the last count up to and including its own; whatever frames a read brought that did
/// not end in a message (pings, pongs, fragments, Engine.IO heartbeats) come once per read
/// through on_frames.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void on_open(std::shared_ptr<Connection> conn, std::string peer_ip) = 0;
  /// One whole message, valid UTF-8: a native JSON frame (kNative), or a Socket.IO EVENT packet
  /// without its Engine.IO type and namespace, `2[...]` or `2<ack id>[...]` (kEio4, kEio3).
  virtual void on_text(core::ConnId conn, Transport transport, std::string text,
                       FrameCount counted) = 0;
  /// A binary message (PROTOCOL.md §2: bad_request).
  virtual void on_binary(core::ConnId conn, FrameCount counted) = 0;
  /// Frames of one read that delivered no message (see above); never empty.
  virtual void on_frames(core::ConnId conn, FrameCount counted) = 0;
  virtual void on_close(core::ConnId conn) = 0;
};

/// Listener and session settings. Value type, copied into the Server by open().
/// A file served as is at `path` (GET/HEAD), its content type chosen by its extension.
struct StaticFile {
  std::string path;       // e.g. "/demo/index.html", "/sdk/workspaces.js"
  std::string_view body;  // not owned: static data that outlives the server
};

struct ServerOptions {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 9090;  // 0 = pick a free port
  bool tls = false;
  std::string tls_key_file, tls_cert_file, tls_ca_file;  // PEM; ca optional (chain)
  /// How often the TLS files are checked (stat) for a change, which reloads them; 0 = never
  /// (SIGHUP / reload_tls() only).
  std::chrono::milliseconds tls_watch_interval{5000};
  std::size_t max_frame_bytes = 65536;
  std::chrono::milliseconds ping_interval{25000}, ping_timeout{20000};
  std::size_t max_queue_bytes = 1 << 20;
  std::chrono::milliseconds handshake_timeout{5000};  // headers must arrive within this; idle
                                                      // non-upgraded sockets closed
  /// Connection limits (PROTOCOL.md §10), checked when a TCP connection is accepted; a refused
  /// connection's first request is answered 503 (max_connections) or 429 (the others).
  std::size_t max_connections = 50000;
  /// Sockets held at most, refused ones included (0: twice max_connections): past it a new
  /// connection is closed unanswered. Between max_connections and this, plain HTTP is still
  /// answered (/healthz, /readyz, /metrics) when nothing can be evicted.
  std::size_t max_held_connections = 0;
  std::size_t max_connections_per_ip = 200;
  double new_connections_per_ip_per_second = 50;
  double new_connections_per_ip_burst = 100;
  /// Web origins whose pages may open WebSocket connections ("https://app.example.com");
  /// empty = any. A request without an Origin header (not a browser) is always allowed.
  std::vector<std::string> allowed_origins;
  std::size_t max_header_bytes = 8192;
  std::size_t max_body_bytes = 4096;
  /// The io_context runs on one thread: connections share its implicit strand instead of
  /// each having its own (cheaper; no cross-thread hand-offs).
  bool single_thread = false;
  std::string version;  // shown on GET /
  bool development = false;
  /// Counts connections opened/closed per transport when set. Not owned; must outlive the
  /// io_context's run.
  Metrics* metrics = nullptr;
  /// Served with a Content-Security-Policy and ETag revalidation; "/demo/index.html" is also
  /// "/demo/" (and "/demo" redirects there).
  std::vector<StaticFile> static_files;
};

/// HTTP endpoints' hooks, provided by the app. Called from I/O threads, so they must be
/// thread-safe.
struct HttpHooks {
  std::function<bool()> ready;  // GET /readyz: 200 "ready" when true, else 503 "draining"/"not
                                // ready"
  std::function<std::string()> metrics;  // GET /metrics body (Prometheus text, version 0.0.4
                                         // content type)
};

/// The certificate new TLS connections get, as reload_tls() reports it. Nothing secret.
struct TlsCertificate {
  std::string subject;       // RFC 2253, e.g. "CN=example.com"
  std::string serial;        // upper-case hex
  std::string sha256;        // fingerprint: upper-case hex byte pairs joined by ':'
  std::int64_t not_after{};  // expiry, seconds since the Unix epoch
};

/// Listener + sessions on one io_context. Built by open(); start() begins accepting.
/// The methods may be called from any thread. `handler` (and `options.metrics`) must outlive
/// every session, i.e. until the io_context has stopped running; destroy the Server after that.
class Server {
 public:
  /// Binds and listens (and loads the TLS key/cert when options.tls). Every failure (bad
  /// address, port in use, unreadable or invalid PEM file) is an error naming its cause.
  static core::Result<std::unique_ptr<Server>> open(boost::asio::io_context& ioc,
                                                    ServerOptions options,
                                                    ConnectionHandler& handler, HttpHooks hooks);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;  // the bound port (useful with port 0)
  void start();
  /// Start draining: refuse new WebSocket upgrades (HTTP 503) and answer GET /readyz 503,
  /// while HTTP keeps answering (so load balancers can see the drain) and open WebSocket
  /// connections keep being served (PROTOCOL.md §4.3).
  void stop_accepting();
  /// Number of open WebSocket connections.
  std::size_t connection_count() const;
  /// Close every open WebSocket connection with `code` (e.g. 1012 at the end of the shutdown
  /// drain).
  void close_all(std::uint16_t code, std::string reason);
  /// Reads the TLS key, certificate and CA files again and, when they are valid (the key
  /// matches the certificate, the chain loads, the certificate has not expired), gives them to
  /// every new connection; open connections keep the certificate they began with. A failure
  /// keeps the current certificate. Logs the outcome (`tls.reloaded` / `tls.reload_failed`)
  /// and counts it in the metrics. Any thread; blocks for the file reads (milliseconds).
  /// kUnavailable when the server runs without TLS.
  core::Result<TlsCertificate> reload_tls();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ws::net
