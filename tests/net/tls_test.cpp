// HTTPS and WSS on one port with a throwaway self-signed certificate, verified by the client;
// reloading the certificate while connections stay open.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/detail/tls_context.hpp"
#include "net/detail/tls_reloader.hpp"
#include "net/metrics.hpp"
#include "net/net_test_support.hpp"

namespace ws::net::test {
namespace {

namespace fs = std::filesystem;

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ws-net-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    key_ = dir_ + "/key.pem";
    cert_ = dir_ + "/cert.pem";
    other_key_ = dir_ + "/other-key.pem";
    other_cert_ = dir_ + "/other-cert.pem";
    ASSERT_TRUE(make_cert(key_, cert_));
    ASSERT_TRUE(make_cert(other_key_, other_cert_));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static bool make_cert(const std::string& key, const std::string& cert) {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 1 -keyout '" +
        key + "' -out '" + cert + "' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  static ServerOptions tls_options() {
    ServerOptions options = test_options();
    options.tls = true;
    options.tls_key_file = key_;
    options.tls_cert_file = cert_;
    return options;
  }

  static std::string open_error(ServerOptions options) {
    asio::io_context ioc;
    RecordingHandler handler;
    auto server = Server::open(ioc, std::move(options), handler, {});
    return server ? std::string() : server.error().message;
  }

  static inline std::string dir_, key_, cert_, other_key_, other_cert_;
};

// ---- reload ----

std::string hex_pairs(const unsigned char* md, unsigned int n) {
  std::string out;
  char buf[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, i == 0 ? "%02X" : ":%02X", md[i]);
    out += buf;
  }
  return out;
}

std::string sha256_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &n) != 1) return "(none)";
  return hex_pairs(md, n);
}

X509* read_cert(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return nullptr;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return cert;
}

/// SHA-256 fingerprint of the first certificate of a PEM file, as `openssl x509 -fingerprint`.
std::string fingerprint_of_file(const std::string& path) {
  X509* cert = read_cert(path);
  std::string out = sha256_of(cert);
  X509_free(cert);
  return out;
}

/// Serial number of the first certificate of a PEM file, as `openssl x509 -serial`.
std::string serial_of_file(const std::string& path) {
  X509* cert = read_cert(path);
  if (cert == nullptr) return "(unreadable)";
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  std::string out = hex_pairs(ASN1_STRING_get0_data(serial),
                              static_cast<unsigned int>(ASN1_STRING_length(serial)));
  X509_free(cert);
  std::erase(out, ':');
  return out;
}

/// SHA-256 fingerprint of the certificate the server showed this client.
template <class Client>
std::string fingerprint_of_peer(Client& client) {
  X509* cert = SSL_get1_peer_certificate(client.stream().next_layer().native_handle());
  std::string out = sha256_of(cert);
  X509_free(cert);
  return out;
}

/// Writes a certificate for `key_file`'s key that expired an hour ago (openssl req refuses a
/// validity in the past).
bool write_expired_cert(const std::string& key_file, const std::string& cert_file) {
  std::FILE* f = std::fopen(key_file.c_str(), "rb");
  if (f == nullptr) return false;
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
    X509_gmtime_adj(X509_getm_notBefore(cert), -2 * 24 * 3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), -3600);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    ok = X509_sign(cert, key, EVP_sha256()) > 0;
  }
  if (ok) {
    std::FILE* out = std::fopen(cert_file.c_str(), "wb");
    ok = out != nullptr && PEM_write_X509(out, cert) == 1;
    if (out != nullptr) std::fclose(out);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The key and certificate files a server is given, in a directory of their own, replaced the
/// way certificate tools do it.
class LiveFiles {
 public:
  explicit LiveFiles(const std::string& parent) {
    std::string tmpl = parent + "/live-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) dir = tmpl;
    key = dir + "/privkey.pem";
    cert = dir + "/fullchain.pem";
  }
  /// Writes both files under temporary names, then renames them over the live ones (certbot,
  /// ACME clients): the key first, then the certificate.
  void install(const std::string& key_from, const std::string& cert_from) const {
    replace(key, read_all(key_from));
    replace(cert, read_all(cert_from));
  }
  static void replace(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
    fs::rename(tmp, path);
  }
  /// Rewrites a file in place (truncate, write), like `cp`.
  static void overwrite(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  }

  std::string dir, key, cert;
};

class TlsReload : public Tls {
 protected:
  void SetUp() override {
    live_.install(key_, cert_);
    both_ = client_tls_context(cert_);
    both_->load_verify_file(other_cert_);
  }

  /// TLS options on the live files, counting into metrics_; `watch` 0 = no file watching.
  ServerOptions live_options(Ms watch) {
    ServerOptions options = tls_options();
    options.tls_key_file = live_.key;
    options.tls_cert_file = live_.cert;
    options.tls_watch_interval = watch;
    options.metrics = &metrics_;
    return options;
  }

  /// The fingerprint a new connection sees, or the connect error.
  std::string served_fingerprint(std::uint16_t port) {
    WssClient client(*both_);
    if (auto ec = client.connect(port)) return "connect failed: " + ec.message();
    std::string fingerprint = fingerprint_of_peer(client);
    client.close();
    return fingerprint;
  }

  /// Polls `pred` until it holds (true) or `limit` passes (false).
  template <class Pred>
  static bool eventually(Pred pred, Ms limit = kIo) {
    const auto deadline = Clock::now() + limit;
    while (!pred()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  /// Waits (bounded) until new connections get the certificate of `cert_file`.
  bool wait_served(std::uint16_t port, const std::string& cert_file) {
    const std::string want = fingerprint_of_file(cert_file);
    return eventually([&] { return served_fingerprint(port) == want; });
  }

  bool metric(const std::string& line) const {
    std::istringstream in(metrics_.render({}));
    for (std::string l; std::getline(in, l);) {
      if (l == line) return true;
    }
    return false;
  }

  LiveFiles live_{dir_};
  std::unique_ptr<ssl::context> both_;  // trusts cert_ and other_cert_
  Metrics metrics_;                     // outlives each test's harness
};

TEST_F(TlsReload, NewConnectionsGetTheNewCertificateAndOpenOnesKeepGoing) {
  ServerHarness h(live_options(0ms));
  ASSERT_TRUE(h.ok());
  WssClient before(*both_);
  ASSERT_FALSE(before.connect(h.port()));
  ASSERT_FALSE(before.write("one"));
  ASSERT_EQ(before.read().data, "one");

  live_.install(other_key_, other_cert_);
  auto reloaded = h.server().reload_tls();
  ASSERT_TRUE(reloaded) << reloaded.error().message;
  EXPECT_EQ(reloaded->sha256, fingerprint_of_file(other_cert_));
  EXPECT_EQ(reloaded->subject, "CN=localhost");
  EXPECT_FALSE(reloaded->serial.empty());
  EXPECT_GT(reloaded->not_after, std::time(nullptr));

  // The open connection still works, on the certificate it began with (whose context the
  // server no longer holds).
  ASSERT_FALSE(before.write("two"));
  auto r = before.read();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.data, "two");
  EXPECT_EQ(fingerprint_of_peer(before), fingerprint_of_file(cert_));

  WssClient after(*both_);
  ASSERT_FALSE(after.connect(h.port()));
  EXPECT_EQ(fingerprint_of_peer(after), fingerprint_of_file(other_cert_));
  ASSERT_FALSE(after.write("three"));
  EXPECT_EQ(after.read().data, "three");
  // A client that trusts only the old certificate is refused now.
  auto old_only = client_tls_context(cert_);
  HttpsClient stale(*old_only);
  EXPECT_TRUE(stale.connect(h.port()));

  EXPECT_EQ(h.handler().closes(), 0);
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"ok\"} 1"));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"failed\"} 0"));
  EXPECT_TRUE(metric("workspaces_tls_certificate_not_after_seconds " +
                     std::to_string(reloaded->not_after)));
}

TEST_F(TlsReload, BadNewFilesKeepTheCurrentCertificate) {
  const std::string garbage = dir_ + "/reload-garbage.pem";
  std::ofstream(garbage) << "not a pem file\n";
  const std::string expired = dir_ + "/expired-cert.pem";
  ASSERT_TRUE(write_expired_cert(other_key_, expired));
  struct Case {
    const char* name;
    std::string key_from, cert_from;  // copied over the live files; empty = delete it
    std::string want_file;
    const char* want_text;
  };
  const Case cases[] = {
      {"garbage certificate", key_, garbage, live_.cert, "no valid PEM certificate"},
      {"garbage key", garbage, cert_, live_.key, "no valid unencrypted PEM private key"},
      {"key of another certificate", other_key_, cert_, live_.key, "does not match"},
      {"certificate of another key", key_, other_cert_, live_.key, "does not match"},
      {"certificate missing", key_, "", live_.cert, "cannot read TLS certificate"},
      {"expired certificate", other_key_, expired, live_.cert, "expired at"},
  };
  ServerHarness h(live_options(0ms));
  ASSERT_TRUE(h.ok());
  WssClient open(*both_);
  ASSERT_FALSE(open.connect(h.port()));
  int failures = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.cert_from.empty()) {
      LiveFiles::replace(live_.key, read_all(c.key_from));
      fs::remove(live_.cert);
    } else {
      live_.install(c.key_from, c.cert_from);
    }
    auto reloaded = h.server().reload_tls();
    ASSERT_FALSE(reloaded);
    ++failures;
    EXPECT_NE(reloaded.error().message.find(c.want_file), std::string::npos)
        << reloaded.error().message;
    EXPECT_NE(reloaded.error().message.find(c.want_text), std::string::npos)
        << reloaded.error().message;
    EXPECT_EQ(served_fingerprint(h.port()), fingerprint_of_file(cert_));
    ASSERT_FALSE(open.write(c.name));
    EXPECT_EQ(open.read().data, c.name);
    live_.install(key_, cert_);
  }
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"ok\"} 0"));
  EXPECT_TRUE(
      metric("workspaces_tls_reloads_total{result=\"failed\"} " + std::to_string(failures)));
}

TEST_F(TlsReload, WithoutTlsThereIsNothingToReload) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  auto reloaded = h.server().reload_tls();
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().code, core::ErrorCode::kUnavailable);
}

TEST_F(TlsReload, FilesReplacedByARenameAreLoadedWithoutBeingAsked) {
  ServerHarness h(live_options(100ms));
  ASSERT_TRUE(h.ok());
  WssClient open(*both_);
  ASSERT_FALSE(open.connect(h.port()));
  live_.install(other_key_, other_cert_);
  EXPECT_TRUE(wait_served(h.port(), other_cert_));
  ASSERT_FALSE(open.write("still open"));
  EXPECT_EQ(open.read().data, "still open");
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"ok\"} 1"));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"failed\"} 0"));
}

TEST_F(TlsReload, KeyAndCertificateWrittenOneAfterTheOtherAreLoadedTogether) {
  ServerHarness h(live_options(100ms));
  ASSERT_TRUE(h.ok());
  // In place, as `cp` does: for a moment the new key sits beside the old certificate, long
  // enough for a check (every 100 ms) to see it, shorter than TlsReloader::kSettle.
  static_assert(250ms < detail::TlsReloader::kSettle);
  LiveFiles::overwrite(live_.key, read_all(other_key_));
  std::this_thread::sleep_for(250ms);
  LiveFiles::overwrite(live_.cert, read_all(other_cert_));
  EXPECT_TRUE(wait_served(h.port(), other_cert_));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"ok\"} 1"));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"failed\"} 0"))
      << "the half-written pair was never tried";
}

TEST_F(TlsReload, SymbolicLinksMovedToNewFilesAreLoaded) {
  // certbot's layout: live/<name>/*.pem are links into archive/<name>/*N.pem; a renewal
  // writes *N+1.pem and moves the links (`ln -sf`: remove, then create).
  const std::string archive = live_.dir + "/archive";
  fs::create_directory(archive);
  fs::copy_file(key_, archive + "/privkey1.pem");
  fs::copy_file(cert_, archive + "/fullchain1.pem");
  fs::copy_file(other_key_, archive + "/privkey2.pem");
  fs::copy_file(other_cert_, archive + "/fullchain2.pem");
  auto link = [](const std::string& target, const std::string& path) {
    fs::remove(path);
    fs::create_symlink(target, path);
  };
  link(archive + "/privkey1.pem", live_.key);
  link(archive + "/fullchain1.pem", live_.cert);
  ServerHarness h(live_options(100ms));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(served_fingerprint(h.port()), fingerprint_of_file(cert_));
  link(archive + "/privkey2.pem", live_.key);
  link(archive + "/fullchain2.pem", live_.cert);
  EXPECT_TRUE(wait_served(h.port(), other_cert_));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"failed\"} 0"));
}

TEST(TlsFileStamps, SeeRewritesRenamesMovedLinksAndMissingFiles) {
  char tmpl[] = "/tmp/ws-net-stamps-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string file = dir + "/cert.pem", link = dir + "/link.pem";
  std::ofstream(file) << "one";
  std::ofstream(dir + "/other.pem") << "two";
  fs::create_symlink(file, link);
  auto stamp = [&](const std::string& path) { return detail::stamp_files({path}).at(0); };
  struct Case {
    const char* name;
    std::string path;
    std::function<void()> change;
  };
  const Case cases[] = {
      {"rewritten in place, another size", file, [&] { LiveFiles::overwrite(file, "three"); }},
      {"replaced by a rename, same size", file, [&] { LiveFiles::replace(file, "four!"); }},
      {"link moved to another file", link,
       [&] {
         fs::remove(link);
         fs::create_symlink(dir + "/other.pem", link);
       }},
      {"removed", file, [&] { fs::remove(file); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const detail::FileStamp before = stamp(c.path);
    c.change();
    EXPECT_NE(stamp(c.path), before);
  }
  EXPECT_EQ(stamp(file).error, ENOENT);
  EXPECT_EQ(stamp(link), stamp(link)) << "an unchanged file keeps its stamp";
  fs::remove_all(dir);
}

TEST_F(TlsReload, WatchedFilesThatGoBadKeepTheOldCertificateUntilFixed) {
  ServerHarness h(live_options(100ms));
  ASSERT_TRUE(h.ok());
  LiveFiles::replace(live_.cert, "-----BEGIN CERTIFICATE-----\ntruncated\n");
  ASSERT_TRUE(
      eventually([&] { return metric("workspaces_tls_reloads_total{result=\"failed\"} 1"); }));
  EXPECT_EQ(served_fingerprint(h.port()), fingerprint_of_file(cert_));
  live_.install(other_key_, other_cert_);
  EXPECT_TRUE(wait_served(h.port(), other_cert_));
  EXPECT_TRUE(metric("workspaces_tls_reloads_total{result=\"failed\"} 1"))
      << "a bad file is tried once, not at every check";
}

TEST_F(Tls, CertificateOfReportsSubjectSerialFingerprintAndExpiry) {
  auto ctx = detail::make_tls_context(key_, cert_, "");
  ASSERT_TRUE(ctx) << ctx.error().message;
  auto cert = detail::certificate_of(**ctx);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->subject, "CN=localhost");
  EXPECT_EQ(cert->sha256, fingerprint_of_file(cert_));
  EXPECT_EQ(cert->sha256.size(), 32u * 3 - 1);
  EXPECT_EQ(cert->serial, serial_of_file(cert_));
  // -days 1 from a moment ago.
  const std::int64_t in_a_day = std::time(nullptr) + 24 * 3600;
  EXPECT_LE(cert->not_after, in_a_day);
  EXPECT_GT(cert->not_after, in_a_day - 600);
}

TEST_F(Tls, WssEchoWithAVerifiedCertificate) {
  ServerHarness h(tls_options());
  ASSERT_TRUE(h.ok());
  auto ctx = client_tls_context(cert_);
  WssClient client(*ctx);
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_FALSE(client.write("over tls"));
  auto r = client.read();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.data, "over tls");
  ASSERT_FALSE(client.close());
  EXPECT_TRUE(h.handler().wait_closes(1));
}

TEST_F(Tls, HttpsServesTheEndpointsOnTheSamePort) {
  ServerHarness h(tls_options());
  ASSERT_TRUE(h.ok());
  auto ctx = client_tls_context(cert_);
  HttpsClient client(*ctx);
  ASSERT_FALSE(client.connect(h.port()));
  auto r = client.get("/healthz");
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(r.res.body(), "ok");
  EXPECT_EQ(client.get("/nope").res.result(), http::status::not_found);
}

TEST_F(Tls, ClientWithoutTheCertificateRefusesTheServer) {
  ServerHarness h(tls_options());
  ASSERT_TRUE(h.ok());
  auto ctx = client_tls_context(other_cert_);  // trusts a different self-signed cert
  HttpsClient client(*ctx);
  const auto ec = client.connect(h.port());
  EXPECT_TRUE(ec);
}

TEST_F(Tls, Tls11IsRefusedAndTls12Accepted) {
  ServerHarness h(tls_options());
  ASSERT_TRUE(h.ok());
  auto offer_only = [&](int version) {
    auto ctx = client_tls_context(cert_);
    // SECLEVEL=0 lets this client offer TLS 1.1 at all; the refusal must come from the server.
    SSL_CTX_set_cipher_list(ctx->native_handle(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx->native_handle(), version);
    SSL_CTX_set_max_proto_version(ctx->native_handle(), version);
    HttpsClient client(*ctx);
    return client.connect(h.port());
  };
  const auto old = offer_only(TLS1_1_VERSION);
  EXPECT_TRUE(old);
  // The server's protocol_version alert (RFC 8446 §6.2), not a local refusal to offer TLS 1.1.
  EXPECT_NE(old.message().find("alert protocol version"), std::string::npos) << old.message();
  EXPECT_FALSE(offer_only(TLS1_2_VERSION));
}

TEST_F(Tls, ServerContextRequiresTls12) {
  auto ctx = detail::make_tls_context(key_, cert_, "");
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*ctx)->native_handle()), TLS1_2_VERSION);
}

TEST_F(Tls, CaFileIsAddedToTheChain) {
  auto ctx = detail::make_tls_context(key_, cert_, other_cert_);
  ASSERT_TRUE(ctx) << ctx.error().message;
  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(SSL_CTX_get0_chain_certs((*ctx)->native_handle(), &chain), 1);
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(sk_X509_num(chain), 1);
}

TEST_F(Tls, BadFilesAreErrorsNamingTheFile) {
  const std::string garbage = dir_ + "/garbage.pem";
  std::ofstream(garbage) << "not a pem file\n";
  const std::string encrypted = dir_ + "/encrypted-key.pem";
  ASSERT_EQ(std::system(("openssl pkey -in '" + key_ + "' -aes256 -passout pass:secret -out '" +
                         encrypted + "' </dev/null >/dev/null 2>&1")
                            .c_str()),
            0);
  struct Case {
    const char* name;
    std::string key, cert, ca;
    std::string want_file;
    const char* want_text;
  };
  const Case cases[] = {
      {"missing key", dir_ + "/none.pem", cert_, "", dir_ + "/none.pem", "cannot read TLS key"},
      {"missing cert", key_, dir_ + "/none.pem", "", dir_ + "/none.pem",
       "cannot read TLS certificate"},
      {"garbage cert", key_, garbage, "", garbage, "no valid PEM certificate"},
      {"garbage key", garbage, cert_, "", garbage, "no valid unencrypted PEM private key"},
      {"encrypted key", encrypted, cert_, "", encrypted, "no valid unencrypted PEM private key"},
      {"key of another cert", other_key_, cert_, "", other_key_, "does not match"},
      {"missing ca", key_, cert_, dir_ + "/none.pem", dir_ + "/none.pem", "cannot read TLS CA"},
      {"garbage ca", key_, cert_, garbage, garbage, "no valid PEM certificate"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ServerOptions options = tls_options();
    options.tls_key_file = c.key;
    options.tls_cert_file = c.cert;
    options.tls_ca_file = c.ca;
    const std::string message = open_error(options);
    EXPECT_NE(message.find(c.want_file), std::string::npos) << message;
    EXPECT_NE(message.find(c.want_text), std::string::npos) << message;
  }
}

TEST_F(Tls, PlainHttpOnTheTlsPortIsClosedQuickly) {
  ServerOptions options = tls_options();
  options.handshake_timeout = 500ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply;
  const auto ec = raw.read_until_closed(reply, 500ms + 2s);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  EXPECT_EQ(reply.find("200 OK"), std::string::npos);
}

TEST_F(Tls, SilentTlsClientIsClosedAfterHandshakeTimeout) {
  ServerOptions options = tls_options();
  options.handshake_timeout = 300ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  const auto start = Clock::now();
  std::string reply;
  const auto ec = raw.read_until_closed(reply, 300ms + kSlack + 1s);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  EXPECT_LE(since(start), 300ms + kSlack);
}

}  // namespace
}  // namespace ws::net::test
