// Server: wires options, TLS (and its reload), routes and the listener; connection registry.
#include "net/server.hpp"

#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/detail/listener.hpp"
#include "net/detail/routes.hpp"
#include "net/detail/server_state.hpp"
#include "net/detail/tls_reloader.hpp"

namespace ws::net {

std::string_view to_string(Transport transport) {
  switch (transport) {
    case Transport::kNative:
      return "native";
    case Transport::kEio4:
      return "eio4";
    case Transport::kEio3:
      return "eio3";
  }
  return "unknown";
}

namespace detail {

void ConnectionRegistry::add(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mu_);
  conns_.emplace(conn->id(), conn);
}

void ConnectionRegistry::remove(core::ConnId id) {
  std::lock_guard lock(mu_);
  conns_.erase(id);
}

std::size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

void ConnectionRegistry::close_all(std::uint16_t code, const std::string& reason) {
  // Snapshot first: close() only posts, but keeping the lock out of it costs nothing.
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    open.reserve(conns_.size());
    for (const auto& [id, weak] : conns_) {
      if (auto conn = weak.lock()) open.push_back(std::move(conn));
    }
  }
  for (const auto& conn : open) conn->close(code, reason);
}

}  // namespace detail

struct Server::Impl {
  std::shared_ptr<detail::ServerState> state;
  std::shared_ptr<detail::Listener> listener;
  std::shared_ptr<detail::TlsReloader> tls;  // null without TLS
};

core::Result<std::unique_ptr<Server>> Server::open(boost::asio::io_context& ioc,
                                                   ServerOptions options,
                                                   ConnectionHandler& handler, HttpHooks hooks) {
  auto state = std::make_shared<detail::ServerState>(std::move(options), handler);
  const ServerOptions& opts = state->options;
  std::shared_ptr<detail::TlsReloader> tls;
  if (opts.tls) {
    auto loaded = detail::TlsReloader::open(ioc.get_executor(), state);
    if (!loaded) return tl::unexpected(loaded.error());
    tls = std::move(*loaded);
  }
  state->server_header = opts.version.empty() ? "workspaces" : "workspaces/" + opts.version;
  // The state owns the table, so the raw pointer in the closure never outlives it.
  state->routes = detail::default_routes(
      opts.version, std::move(hooks), [s = state.get()] { return s->accepting.load(); },
      opts.static_files);

  auto listener = detail::Listener::open(ioc, opts.bind_address, opts.port, state);
  if (!listener) return tl::unexpected(listener.error());
  auto impl = std::make_unique<Impl>(Impl{std::move(state), std::move(*listener), std::move(tls)});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->listener->stop();
  if (impl_->tls) impl_->tls->stop();
}

std::uint16_t Server::port() const {
  return impl_->listener->port();
}

void Server::start() {
  impl_->listener->start();
  if (impl_->tls) impl_->tls->watch(impl_->state->options.tls_watch_interval);
}

void Server::stop_accepting() {
  impl_->state->accepting.store(false);
}

std::size_t Server::connection_count() const {
  return impl_->state->registry.size();
}

void Server::close_all(std::uint16_t code, std::string reason) {
  impl_->state->registry.close_all(code, reason);
}

core::Result<TlsCertificate> Server::reload_tls() {
  if (!impl_->tls) {
    return core::fail(core::ErrorCode::kUnavailable, "TLS is off: no certificate to reload");
  }
  return impl_->tls->reload();
}

}  // namespace ws::net
