// TLS context factory: PEM key, certificate chain and optional CA chain, TLS 1.2 minimum.
#include "net/detail/tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ws::net::detail {
namespace ssl = boost::asio::ssl;

namespace {

core::Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return core::fail(core::ErrorCode::kInternal, fmt::format("cannot read TLS {} file '{}': {}",
                                                              what, path, std::strerror(errno)));
  }
  std::string content;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    return core::fail(core::ErrorCode::kInternal,
                      fmt::format("cannot read TLS {} file '{}': read error", what, path));
  }
  return content;
}

// The newest OpenSSL error on this thread's queue, as text; clears the queue.
std::string openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

EVP_PKEY* parse_private_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  // No passphrase: OpenSSL's default callback would prompt on the terminal and block startup.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  return pkey;
}

// Adds every certificate of a PEM bundle to the chain sent after the leaf certificate.
core::Result<void> add_chain(SSL_CTX* ctx, const std::string& pem, const std::string& path) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return core::fail(core::ErrorCode::kInternal, "out of memory");
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    const int ok = SSL_CTX_add1_chain_cert(ctx, cert);
    X509_free(cert);
    if (ok != 1) break;
    ++added;
  }
  BIO_free(bio);
  // Reading stops with a harmless "no start line" at the end of the bundle; anything before
  // the first certificate, or no certificate at all, is a bad file.
  if (added == 0) {
    return core::fail(
        core::ErrorCode::kInternal,
        fmt::format("TLS CA file '{}' holds no valid PEM certificate: {}", path, openssl_error()));
  }
  ERR_clear_error();
  return {};
}

}  // namespace

core::Result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& key_file,
                                                             const std::string& cert_file,
                                                             const std::string& ca_file) {
  auto cert = read_file(cert_file, "certificate");
  if (!cert) return tl::unexpected(cert.error());
  auto key = read_file(key_file, "key");
  if (!key) return tl::unexpected(key.error());

  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return core::fail(core::ErrorCode::kInternal,
                      fmt::format("cannot create a TLS context: {}", e.what()));
  }
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return core::fail(core::ErrorCode::kInternal,
                      "cannot set the minimum TLS version: " + openssl_error());
  }

  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(*cert), ec);
  if (ec) {
    return core::fail(core::ErrorCode::kInternal,
                      fmt::format("TLS certificate file '{}' holds no valid PEM certificate: {}",
                                  cert_file, ec.message()));
  }
  // Parsed apart from loading, so a bad key and a key of another certificate get different
  // messages (OpenSSL reports both from SSL_CTX_use_PrivateKey).
  EVP_PKEY* pkey = parse_private_key(*key);
  if (pkey == nullptr) {
    return core::fail(
        core::ErrorCode::kInternal,
        fmt::format("TLS key file '{}' holds no valid unencrypted PEM private key: {}", key_file,
                    openssl_error()));
  }
  const int key_ok = SSL_CTX_use_PrivateKey(ctx->native_handle(), pkey);
  EVP_PKEY_free(pkey);
  if (key_ok != 1 || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return core::fail(core::ErrorCode::kInternal,
                      fmt::format("TLS key file '{}' does not match the certificate in '{}': {}",
                                  key_file, cert_file, openssl_error()));
  }
  if (!ca_file.empty()) {
    auto ca = read_file(ca_file, "CA");
    if (!ca) return tl::unexpected(ca.error());
    if (auto added = add_chain(ctx->native_handle(), *ca, ca_file); !added) {
      return tl::unexpected(added.error());
    }
  }
  ERR_clear_error();
  return ctx;
}

}  // namespace ws::net::detail
