// The accept loop (Beast's listener shape, but built by a factory that reports bind errors).
#include "net/detail/listener.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "net/detail/io_errors.hpp"
#include "net/detail/sessions.hpp"

namespace ws::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// After a failed accept (typically EMFILE: out of file descriptors) wait before retrying, so
// the loop does not spin while the condition lasts.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

Listener::Listener(asio::io_context& ioc, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      acceptor_(state->options.single_thread ? asio::any_io_executor(ioc.get_executor())
                                             : asio::any_io_executor(asio::make_strand(ioc))),
      backoff_(acceptor_.get_executor()),
      state_(std::move(state)) {}

core::Result<std::shared_ptr<Listener>> Listener::open(asio::io_context& ioc,
                                                       const std::string& address,
                                                       std::uint16_t port,
                                                       std::shared_ptr<ServerState> state) {
  auto fail = [&](std::string_view what, const error_code& ec) {
    return core::fail(core::ErrorCode::kInternal, fmt::format("cannot listen on {}:{}: {}: {}",
                                                              address, port, what, ec.message()));
  };
  error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return fail("invalid bind address", ec);
  const tcp::endpoint endpoint(ip, port);

  auto listener = std::make_shared<Listener>(ioc, std::move(state));
  tcp::acceptor& acceptor = listener->acceptor_;
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail("open", ec);
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return fail("set_option", ec);
  }
  if (acceptor.bind(endpoint, ec); ec) return fail("bind", ec);
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail("listen", ec);
  }
  listener->port_ = acceptor.local_endpoint(ec).port();
  if (ec) return fail("local_endpoint", ec);
  return listener;
}

void Listener::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (!self->stopped_) self->do_accept();
  });
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (self->stopped_) return;
    self->stopped_ = true;
    error_code ignored;
    self->acceptor_.close(ignored);
    self->backoff_.cancel();
  });
}

void Listener::do_accept() {
  // Each connection gets its own strand (Beast's advanced server), unless one thread runs
  // everything and the io_context itself is the only strand.
  const asio::any_io_executor executor = state_->options.single_thread
                                             ? asio::any_io_executor(ioc_.get_executor())
                                             : asio::any_io_executor(asio::make_strand(ioc_));
  acceptor_.async_accept(executor,
                         beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(error_code ec, tcp::socket socket) {
  if (stopped_) return;
  if (ec) {
    // One line per episode (EMFILE lasts as long as the descriptors are held), a count each.
    if (state_->options.metrics) state_->options.metrics->accept_failed();
    if (!accept_failing_ && !is_benign(ec)) {
      log_event(spdlog::level::warn, "accept.failed",
                {{"error", ec.message()}, {"retry_ms", std::to_string(kAcceptBackoff.count())}});
    }
    accept_failing_ = true;
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec && !self->stopped_) self->do_accept();
    });
    return;
  }
  if (accept_failing_) {
    accept_failing_ = false;
    log_event(spdlog::level::info, "accept.recovered", {});
  }
  // Signaling messages are small and latency-bound: never hold one back for Nagle's algorithm.
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // The limits of PROTOCOL.md §10 are decided here, once per TCP connection; the HTTP session
  // refuses the upgrade of a connection over one (and counts it), and serves plain HTTP.
  error_code ec_peer;
  const auto peer = socket.remote_endpoint(ec_peer);
  if (ec_peer) return do_accept();  // already gone
  Admission::Ticket ticket =
      state_->admission.admit(peer.address(), std::chrono::steady_clock::now());
  if (!ticket.holds_place()) {
    // Twice over a limit: a flood. Not even an answer; the socket closes here.
    if (state_->options.metrics)
      state_->options.metrics->connection_refused(to_string(ticket.refusal()));
    return do_accept();
  }
  if (ticket.evicted_another() && state_->options.metrics)
    state_->options.metrics->connection_evicted();
  run_http_session(std::move(socket), peer.address(), state_, std::move(ticket));
  do_accept();
}

}  // namespace ws::net::detail
