// An asynchronous HTTPS client on Beast + OpenSSL, for the ICE providers (Twilio).
#pragma once

#include <cstddef>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/error.hpp"
#include "ice/http.hpp"

namespace ws::net {

/// A TLS client context that verifies peers against the system trust store (OpenSSL's
/// default paths, which honour SSL_CERT_FILE and SSL_CERT_DIR).
core::Result<std::shared_ptr<boost::asio::ssl::context>> system_trust_context();

/// One connection per request (`Connection: close`), https:// URLs only, certificate and host
/// name verified, SNI sent. The whole exchange (DNS, connect, TLS, request, response) is
/// bounded by the request's timeout; bodies above `max_body` bytes fail. Never blocks the
/// caller: work runs on `executor` (a strand per request), and so does `done`.
class HttpsClient final : public ice::HttpClient {
 public:
  HttpsClient(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls,
              std::size_t max_body = 1 << 20);
  void send(ice::HttpRequest request, std::chrono::milliseconds timeout, Done done) override;

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::size_t max_body_;
};

}  // namespace ws::net
