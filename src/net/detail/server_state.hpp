// State shared by the listener and every session of one Server.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "net/detail/admission.hpp"
#include "net/detail/routes.hpp"
#include "net/detail/tls_context.hpp"
#include "net/server.hpp"

namespace ws::net::detail {

/// The open WebSocket connections, for connection_count() and close_all(). Thread-safe.
class ConnectionRegistry {
 public:
  void add(const std::shared_ptr<Connection>& conn);
  void remove(core::ConnId id);
  std::size_t size() const;
  /// Calls close(code, reason) on every connection registered at the time of the call.
  void close_all(std::uint16_t code, const std::string& reason);

 private:
  mutable std::mutex mu_;  // guards conns_
  std::unordered_map<core::ConnId, std::weak_ptr<Connection>> conns_;
};

/// Built by Server::open(), then shared (shared_ptr) by the listener and all sessions, so it
/// lives as long as the last of them. Immutable after open() except the atomics, the registry
/// and the TLS slot, which are thread-safe.
struct ServerState {
  ServerState(ServerOptions opts, ConnectionHandler& h)
      : options(std::move(opts)),
        handler(h),
        admission(AdmissionLimits{options.max_connections, options.max_connections_per_ip,
                                  options.new_connections_per_ip_per_second,
                                  options.new_connections_per_ip_burst,
                                  options.max_held_connections}) {}

  const ServerOptions options;
  ConnectionHandler& handler;
  TlsContextSlot tls;  // empty when serving plain HTTP/WS; replaced by a certificate reload
  RouteTable routes;
  std::string server_header;          // "workspaces/<version>"
  std::atomic<bool> accepting{true};  // false after stop_accepting()
  ConnectionRegistry registry;
  Admission admission;
};

}  // namespace ws::net::detail
