// The server's TLS context from PEM files (ENABLE_HTTPS, PROTOCOL.md §9), and its reload slot.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "core/error.hpp"
#include "net/server.hpp"

namespace ws::net::detail {

/// A TLS server context (TLS 1.2 minimum) with the key, the certificate chain from `cert_file`
/// and, when `ca_file` is not empty, the extra chain certificates it holds. Every failure is an
/// error naming the file at fault. The context is shared read-only by all TLS sessions.
/// It registers no Asio callbacks (password, verification): a session's SSL object keeps its
/// own reference to the OpenSSL context, so sessions may outlive this object after a reload.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const std::string& key_file, const std::string& cert_file, const std::string& ca_file);

/// Subject, serial, SHA-256 fingerprint and expiry of the leaf certificate of `ctx`.
/// kInternal when it holds none. Only reads `ctx` (Asio's native_handle() is not const).
core::Result<TlsCertificate> certificate_of(boost::asio::ssl::context& ctx);

/// The TLS context new connections use, replaced by a certificate reload. Thread-safe. A new
/// connection builds its SSL object from the context of the moment; replacing the context
/// never touches open connections.
class TlsContextSlot {
 public:
  std::shared_ptr<boost::asio::ssl::context> get() const {
    std::lock_guard lock(mu_);
    return ctx_;
  }
  void set(std::shared_ptr<boost::asio::ssl::context> ctx) {
    std::lock_guard lock(mu_);
    ctx_.swap(ctx);
    // The old context (now in `ctx`) is freed after the lock. Open sessions do not need it:
    // their SSL objects hold the OpenSSL context (see make_tls_context).
  }

 private:
  mutable std::mutex mu_;  // guards ctx_
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

}  // namespace ws::net::detail
