// HTTPS and WSS on one port with a throwaway self-signed certificate, verified by the client.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "net/detail/tls_context.hpp"
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
  const auto ec = raw.read_until_closed(reply, 300ms + 2s);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  EXPECT_LE(since(start), 300ms + 1s);
}

}  // namespace
}  // namespace ws::net::test
