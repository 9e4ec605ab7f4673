// The TCP acceptor: hands every accepted socket to an HTTP session on its own strand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/error.hpp"
#include "net/detail/server_state.hpp"

namespace ws::net::detail {

/// Accept loop on its own strand. Built bound and listening by open(), never half-built;
/// start() and stop() may be called from any thread. Kept alive by its pending accept.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  /// Binds `address`:`port` (0 = any free port) and listens. Errors name the address and cause.
  static core::Result<std::shared_ptr<Listener>> open(boost::asio::io_context& ioc,
                                                      const std::string& address,
                                                      std::uint16_t port,
                                                      std::shared_ptr<ServerState> state);

  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerState> state);

  std::uint16_t port() const { return port_; }
  void start();
  /// Closes the acceptor: the kernel refuses new connections from then on. Idempotent.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand, like everything below
  boost::asio::steady_timer backoff_;
  std::shared_ptr<ServerState> state_;
  std::uint16_t port_ = 0;  // set by open(), then constant
  bool stopped_ = false;
  bool accept_failing_ = false;  // in an episode of failed accepts (logged once)
};

}  // namespace ws::net::detail
