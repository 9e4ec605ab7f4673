// Runs the domain Engine on one strand and carries out its Effects with real sockets,
// timers, the store, the PIN worker pool and the ICE provider.
#pragma once

#include <memory>

#include "core/engine.hpp"
#include "net/server.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ws::auth {
class PinHasher;
}  // namespace ws::auth
namespace ws::ice {
class IceProvider;
}  // namespace ws::ice
namespace ws::store {
class StateStore;
}  // namespace ws::store
namespace ws::net {
class Metrics;
}  // namespace ws::net

namespace ws::app {

/// Everything the Runtime drives. Not owned: each must outlive the Runtime.
/// Threads of the Argon2id pool (PIN hashes and checks). The Engine hands out one check per
/// thread (core::EngineOptions::pin_hash_parallel) and keeps the rest in its own fair order.
inline constexpr int kPinHashThreads = 2;

struct RuntimeParts {
  core::Engine& engine;
  store::StateStore& store;
  ice::IceProvider& ice;
  const auth::PinHasher& pins;
  net::Metrics& metrics;
  bool development = false;
  /// The io_context runs on one thread: the Engine runs inline on it, without a strand.
  bool single_thread = false;
};

/// The ConnectionHandler of the server. Thread-safe entry points (any I/O thread); the
/// Engine is only touched on the Runtime's strand. Destroy after the io_context stopped.
class Runtime final : public net::ConnectionHandler {
 public:
  Runtime(boost::asio::io_context& ioc, RuntimeParts parts);
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Rebuilds Engine state from the store's snapshot. Call before the server starts.
  void restore(const core::Snapshot& snapshot);

  void on_open(std::shared_ptr<net::Connection> conn, std::string peer_ip) override;
  void on_text(core::ConnId conn, net::Transport transport, std::string text,
               net::FrameCount counted) override;
  void on_binary(core::ConnId conn, net::FrameCount counted) override;
  void on_frames(core::ConnId conn, net::FrameCount counted) override;
  void on_close(core::ConnId conn) override;

  /// Sends `server-shutdown` to every client (PROTOCOL.md §4.3).
  void start_shutdown(int retry_after_s);

  /// Engine counts, refreshed on the strand at most every 250 ms. Thread-safe.
  core::EngineStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ws::app
