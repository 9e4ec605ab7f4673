// TLS context factory: PEM key, certificate chain and optional CA chain, TLS 1.2 minimum.
#include "net/detail/tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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

std::string subject_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string subject(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  return subject;
}

std::string serial_of(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return serial;
}

std::string sha256_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out += ':';
    out += fmt::format("{:02X}", md[i]);
  }
  return out;
}

}  // namespace

core::Result<TlsCertificate> certificate_of(ssl::context& ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  if (cert == nullptr) return core::fail(core::ErrorCode::kInternal, "no certificate loaded");
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
    ERR_clear_error();
    return core::fail(core::ErrorCode::kInternal, "the certificate's notAfter does not parse");
  }
  return TlsCertificate{subject_of(cert), serial_of(cert), sha256_of(cert),
                        static_cast<std::int64_t>(timegm(&tm))};
}

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
