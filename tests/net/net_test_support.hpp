// Test harness for net/: a real server on 127.0.0.1:0, a recording handler, and Beast clients
// (HTTP, WebSocket, raw TCP; plain and TLS) whose every operation has a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/server.hpp"

namespace ws::net::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

/// What a bounded wait may overrun its timer by on a loaded 2-core CI machine: the sanitizers
/// slow everything 2 to 15 times (TSan once took 1.39 s to close at a 300 ms timeout). Every
/// bound it widens is still far below the unbounded case the test guards against (a 25 s ping
/// interval, or never).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr Ms kSlack{5000};
#else
inline constexpr Ms kSlack{1000};
#endif

/// Upper bound for any single client operation or wait: no test can hang longer than this.
inline constexpr Ms kIo = 5s;

inline std::shared_ptr<const std::string> frame(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

inline Ms since(Clock::time_point start) {
  return std::chrono::duration_cast<Ms>(Clock::now() - start);
}

/// Records every call; echoes text frames unless `on_text_hook` is set. Thread-safe.
class RecordingHandler : public ConnectionHandler {
 public:
  /// Replaces the echo. Called on the connection's I/O thread, outside the handler's lock.
  std::function<void(Connection&, const std::string&)> on_text_hook;

  void on_open(std::shared_ptr<Connection> conn, std::string peer_ip) override {
    {
      std::lock_guard lock(mu_);
      events_.push_back("open " + std::to_string(conn->id().value));
      peer_ips_.push_back(std::move(peer_ip));
      conns_[conn->id().value] = conn;
      last_ = conn;
      ++opens_;
    }
    cv_.notify_all();
  }
  void on_text(core::ConnId id, Transport transport, std::string text,
               FrameCount counted) override {
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(mu_);
      count(counted);
      events_.push_back("text " + std::to_string(id.value));
      texts_.push_back(text);
      text_transports_.push_back(transport);
      conn = conns_[id.value];
    }
    if (on_text_hook) {
      on_text_hook(*conn, text);
    } else {
      conn->send(frame(text));
    }
    cv_.notify_all();
  }
  void on_binary(core::ConnId id, FrameCount counted) override {
    {
      std::lock_guard lock(mu_);
      count(counted);
      events_.push_back("binary " + std::to_string(id.value));
      ++binaries_;
    }
    cv_.notify_all();
  }
  void on_frames(core::ConnId, FrameCount counted) override {
    {
      std::lock_guard lock(mu_);
      count(counted);
      ++frame_batches_;
    }
    cv_.notify_all();
  }
  void on_close(core::ConnId id) override {
    {
      std::lock_guard lock(mu_);
      events_.push_back("close " + std::to_string(id.value));
      conns_.erase(id.value);
      ++closes_;
    }
    cv_.notify_all();
  }

  /// Waits (bounded) until `pred` holds; `pred` runs under the handler's lock.
  template <class Pred>
  bool wait(Pred pred, Ms limit = kIo) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(*this); });
  }
  bool wait_opens(int n, Ms limit = kIo) {
    return wait([n](const RecordingHandler& h) { return h.opens_ >= n; }, limit);
  }
  bool wait_closes(int n, Ms limit = kIo) {
    return wait([n](const RecordingHandler& h) { return h.closes_ >= n; }, limit);
  }

  template <class F>
  auto locked(F f) const {
    std::lock_guard lock(mu_);
    return f();
  }
  int opens() const {
    return locked([&] { return opens_; });
  }
  int closes() const {
    return locked([&] { return closes_; });
  }
  int binaries() const {
    return locked([&] { return binaries_; });
  }
  std::vector<std::string> events() const {
    return locked([&] { return events_; });
  }
  std::vector<std::string> texts() const {
    return locked([&] { return texts_; });
  }
  std::vector<Transport> text_transports() const {
    return locked([&] { return text_transports_; });
  }
  std::vector<std::string> peer_ips() const {
    return locked([&] { return peer_ips_; });
  }
  /// Every frame counted so far, over messages and batches, and the on_frames calls.
  FrameCount counted() const {
    return locked([&] { return counted_; });
  }
  int frame_batches() const {
    return locked([&] { return frame_batches_; });
  }
  std::shared_ptr<Connection> last_connection() const {
    return locked([&] { return last_; });
  }

  // Read by wait() predicates, under the lock.
  int opens_ = 0, closes_ = 0, binaries_ = 0, frame_batches_ = 0;
  FrameCount counted_;
  std::vector<std::string> events_, texts_, peer_ips_;
  std::vector<Transport> text_transports_;

 private:
  void count(FrameCount c) {  // under the lock
    counted_.frames += c.frames;
    counted_.bytes += c.bytes;
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> conns_;
  std::shared_ptr<Connection> last_;
};

/// Options for tests: loopback, any port, short handshake timeout.
inline ServerOptions test_options() {
  ServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.handshake_timeout = 2s;
  options.version = "1.2.3-test";
  return options;
}

/// A started Server on its own io_context run by two threads (so strands matter).
class ServerHarness {
 public:
  explicit ServerHarness(ServerOptions options = test_options(), HttpHooks hooks = {}) {
    auto server = Server::open(ioc_, std::move(options), handler_, std::move(hooks));
    if (!server) {
      ADD_FAILURE() << "Server::open failed: " << server.error().message;
      return;
    }
    server_ = std::move(*server);
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~ServerHarness() {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
  }

  bool ok() const { return server_ != nullptr; }
  Server& server() { return *server_; }
  RecordingHandler& handler() { return handler_; }
  std::uint16_t port() const { return server_->port(); }

  /// Waits (bounded) until connection_count() == n.
  bool wait_connection_count(std::size_t n, Ms limit = kIo) {
    const auto deadline = Clock::now() + limit;
    while (server_->connection_count() != n) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

 private:
  RecordingHandler handler_;  // outlives the io_context and its sessions
  asio::io_context ioc_{2};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
};

/// A client-side io_context driven from the test thread, one operation at a time.
class ClientIo {
 public:
  /// Starts an operation with `start(handler)` and runs until it completes. When `limit`
  /// passes first, calls `cancel()`, lets the aborted operation finish, and returns timed_out.
  template <class Start, class Cancel>
  error_code await(Start&& start, Cancel&& cancel, Ms limit = kIo, std::size_t* bytes = nullptr) {
    std::optional<error_code> result;
    std::size_t n = 0;
    start([&](error_code ec, auto&&... rest) {
      result = ec;
      if constexpr (sizeof...(rest) == 1 &&
                    (std::is_convertible_v<std::decay_t<decltype(rest)>, std::size_t> && ...)) {
        n = (static_cast<std::size_t>(rest), ...);
      }
    });
    ioc.restart();
    const auto deadline = Clock::now() + limit;
    while (!result && ioc.run_one_until(deadline) > 0) {
    }
    if (!result) {
      cancel();
      ioc.restart();
      ioc.run_for(kIo);
      if (!result) {
        ADD_FAILURE() << "client operation did not finish after cancel";
        std::abort();  // its handler would write to this dead frame later
      }
      return asio::error::timed_out;
    }
    if (bytes) *bytes = n;
    return *result;
  }

  asio::io_context ioc;
};

inline tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

/// Test clients send small messages back to back; Nagle would add 40 ms delays.
inline void no_delay(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
}

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

/// TLS client settings: verify the peer against `ca_file` and the name "localhost".
template <class TlsStream>
void prepare_tls(TlsStream& stream) {
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  stream.set_verify_callback(ssl::host_name_verification("localhost"));
}

inline std::unique_ptr<ssl::context> client_tls_context(const std::string& ca_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_verify_mode(ssl::verify_peer);
  ctx->load_verify_file(ca_file);
  return ctx;
}

/// WebSocket client over `Stream` (beast::tcp_stream or beast::ssl_stream<tcp_stream>).
template <class Stream>
class BasicWsClient {
 public:
  BasicWsClient() requires(!kIsTls<Stream>) : ws_(io_.ioc) {}
  explicit BasicWsClient(ssl::context& ctx) requires kIsTls<Stream> : ws_(io_.ioc, ctx) {}

  error_code connect(std::uint16_t port, std::string target = "/ws") {
    auto ec = await([&](auto h) { lowest().async_connect(loopback(port), h); });
    if (ec) return ec;
    no_delay(lowest());
    if constexpr (kIsTls<Stream>) {
      prepare_tls(ws_.next_layer());
      ec = await([&](auto h) { ws_.next_layer().async_handshake(ssl::stream_base::client, h); });
      if (ec) return ec;
    }
    return await([&](auto h) { ws_.async_handshake(handshake_res_, "localhost", target, h); });
  }

  error_code write(const std::string& data, bool binary = false) {
    ws_.binary(binary);
    return await([&](auto h) { ws_.async_write(asio::buffer(data), h); });
  }

  struct Read {
    error_code ec;
    std::string data;
    bool text = false;
  };
  Read read(Ms limit = kIo) {
    beast::flat_buffer buffer;
    Read r;
    r.ec = await([&](auto h) { ws_.async_read(buffer, h); }, limit);
    r.data = beast::buffers_to_string(buffer.data());
    r.text = ws_.got_text();
    return r;
  }

  error_code close(websocket::close_code code = websocket::close_code::normal) {
    return await([&](auto h) { ws_.async_close(code, h); });
  }

  websocket::close_reason reason() const { return ws_.reason(); }
  websocket::response_type& handshake_response() { return handshake_res_; }
  websocket::stream<Stream>& stream() { return ws_; }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(ws_); }
  ClientIo& io() { return io_; }

  template <class Start>
  error_code await(Start&& start, Ms limit = kIo) {
    return io_.await(
        std::forward<Start>(start), [this] { lowest().close(); }, limit);
  }

 private:
  ClientIo io_;
  websocket::stream<Stream> ws_;
  websocket::response_type handshake_res_;
};

using WsClient = BasicWsClient<beast::tcp_stream>;
using WssClient = BasicWsClient<beast::ssl_stream<beast::tcp_stream>>;

/// HTTP/1.1 client over `Stream`; keeps its connection for several requests.
template <class Stream>
class BasicHttpClient {
 public:
  BasicHttpClient() requires(!kIsTls<Stream>) : stream_(io_.ioc) {}
  explicit BasicHttpClient(ssl::context& ctx) requires kIsTls<Stream> : stream_(io_.ioc, ctx) {}

  error_code connect(std::uint16_t port) {
    auto ec = await([&](auto h) { lowest().async_connect(loopback(port), h); });
    if (ec) return ec;
    no_delay(lowest());
    if constexpr (kIsTls<Stream>) {
      prepare_tls(stream_);
      ec = await([&](auto h) { stream_.async_handshake(ssl::stream_base::client, h); });
    }
    return ec;
  }

  struct Reply {
    error_code ec;
    http::response<http::string_body> res;
  };
  Reply send(http::request<http::string_body> req) {
    req.set(http::field::host, "localhost");
    req.prepare_payload();
    Reply r;
    r.ec = await([&](auto h) { http::async_write(stream_, req, h); });
    if (r.ec) return r;
    http::response_parser<http::string_body> parser;
    parser.skip(req.method() == http::verb::head);
    r.ec = await([&](auto h) { http::async_read(stream_, buffer_, parser, h); });
    if (!r.ec) r.res = parser.release();
    return r;
  }
  Reply get(std::string target, http::verb method = http::verb::get) {
    return send(http::request<http::string_body>{method, target, 11});
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  template <class Start>
  error_code await(Start&& start, Ms limit = kIo) {
    return io_.await(
        std::forward<Start>(start), [this] { lowest().close(); }, limit);
  }

 private:
  ClientIo io_;
  Stream stream_;
  beast::flat_buffer buffer_;
};

using HttpClient = BasicHttpClient<beast::tcp_stream>;
using HttpsClient = BasicHttpClient<beast::ssl_stream<beast::tcp_stream>>;

/// Raw TCP, for what well-behaved clients never do (half requests, unanswered pings).
class RawClient {
 public:
  error_code connect(std::uint16_t port) {
    auto ec = await([&](auto h) { stream_.async_connect(loopback(port), h); });
    if (!ec) no_delay(stream_);
    return ec;
  }
  error_code write(const std::string& bytes) {
    return await([&](auto h) { asio::async_write(stream_, asio::buffer(bytes), h); });
  }
  /// Reads whatever arrives next (at least one byte) within `limit`.
  error_code read_some(std::string& out, Ms limit = kIo) {
    char buf[4096];
    std::size_t n = 0;
    auto ec = io_.await([&](auto h) { stream_.async_read_some(asio::buffer(buf), h); },
                        [this] { stream_.close(); }, limit, &n);
    out.append(buf, n);
    return ec;
  }
  /// Reads until the server closes (EOF or reset) or `limit` passes (then timed_out).
  error_code read_until_closed(std::string& out, Ms limit = kIo) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
      if (left <= 0ms) return asio::error::timed_out;
      auto ec = read_some(out, left);
      if (ec) return ec;
    }
  }
  beast::tcp_stream& stream() { return stream_; }

 private:
  template <class Start>
  error_code await(Start&& start) {
    return io_.await(std::forward<Start>(start), [this] { stream_.close(); });
  }
  ClientIo io_;
  beast::tcp_stream stream_{io_.ioc};
};

/// True when a read result means "the server closed the connection".
inline bool is_closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == http::error::end_of_stream;
}

}  // namespace ws::net::test
