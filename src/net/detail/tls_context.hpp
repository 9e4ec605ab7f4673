// Building the server's TLS context from PEM files (ENABLE_HTTPS, PROTOCOL.md §9).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "core/error.hpp"

namespace ws::net::detail {

/// A TLS server context (TLS 1.2 minimum) with the key, the certificate chain from `cert_file`
/// and, when `ca_file` is not empty, the extra chain certificates it holds. Every failure is an
/// error naming the file at fault. The context is shared read-only by all TLS sessions.
core::Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const std::string& key_file, const std::string& cert_file, const std::string& ca_file);

}  // namespace ws::net::detail
