// One WebSocket client connection. Setup steps are coroutines (open, write, read, close with
// a timeout each); the load itself runs on callbacks (start/send) to keep the hot path lean.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace lg {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
template <class T>
using task = asio::awaitable<T>;
using std::chrono::milliseconds;

/// A frame prepared once; `stamp_at` is where the 19 timestamp digits go (npos: none).
struct Frame {
  std::string text;
  std::size_t stamp_at = std::string::npos;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  /// Called for every message in run mode; the view is valid during the call only.
  using MessageHandler = std::function<void(std::string_view)>;
  /// Called once when run mode ends; `expected` is false unless stop()/abort() asked for it.
  using EndHandler = std::function<void(bool expected, const std::string& why)>;

  explicit Client(asio::io_context& io);

  // --- setup mode (coroutines; each throws std::runtime_error on failure or timeout) ---
  /// TCP connect and WebSocket upgrade to `target` (path and query).
  task<void> open(const tcp::endpoint& endpoint, const std::string& host, const std::string& target,
                  milliseconds timeout);
  task<void> write(std::string_view frame, milliseconds timeout);
  /// The next message, whole.
  task<std::string> read(milliseconds timeout);
  /// Sends a close frame and waits for the server's close frame and the end of TCP.
  task<void> close(milliseconds timeout);

  // --- run mode (callbacks) ---
  /// Starts the read loop: every message goes to `on_message`, the end to `on_end`.
  void start(MessageHandler on_message, EndHandler on_end);
  /// Queues a copy of `frame`, stamped with `stamp_ns` when the frame has a stamp slot.
  void send(const Frame& frame, std::int64_t stamp_ns = 0);
  void send(std::string_view text);
  /// Starts a clean close (close frame, bounded by `timeout`); on_end(true, ...) follows.
  void stop(milliseconds timeout = milliseconds(5000));
  /// Drops the TCP connection at once.
  void abort();

  bool running() const { return running_; }
  bool ended() const { return ended_; }

 private:
  void read_next();
  void write_next();
  void start_close();

  // A concrete executor instead of tcp_stream's type-erased one: cheaper on every operation.
  using Stream = beast::basic_stream<tcp, asio::io_context::executor_type>;
  websocket::stream<Stream> ws_;
  beast::flat_buffer in_;
  // Run mode writes masked frames straight to the TCP stream: everything sent while a write is
  // in flight leaves in the next one (Beast's write takes one message per call, one system
  // call each, which made the generator as costly per message as the server it measures).
  std::string pending_;                    // frames to write next
  std::string flight_;                     // frames being written
  std::uint32_t mask_state_ = 0x9e3779b9;  // masking keys need no cryptographic quality here
  MessageHandler on_message_;
  EndHandler on_end_;
  bool running_ = false;        // run mode started and not ended
  bool writing_ = false;        // a write of flight_ is in flight
  bool stopping_ = false;       // stop() or abort() was called: the end is expected
  bool close_waiting_ = false;  // stop() waits for the write in flight before its close frame
  bool ended_ = false;
  bool detached_ = false;  // abort() was called: handlers are no longer called
};

}  // namespace lg
