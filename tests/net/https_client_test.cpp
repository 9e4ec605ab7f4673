// The HTTPS client of the ICE providers against a real in-process TLS server on loopback:
// request shape, certificate and host name verification, timeouts, limits.
#include "net/https_client.hpp"

#include "net_test_support.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace ws::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

/// What the fake server does with the one connection it accepts.
enum class Mode { kReply, kHang, kHuge, kGarbage };

/// A one-shot TLS server on `address`:0 with its own thread; records the request it read.
class OneShotServer {
 public:
  OneShotServer(const std::string& key, const std::string& cert, Mode mode,
                std::string address = "127.0.0.1")
      : ctx_(ssl::context::tls_server), acceptor_(ioc_), mode_(mode) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, ssl::context::pem);
    tcp::endpoint ep(asio::ip::make_address(address), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    release_.set_value();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  unsigned short port() const { return port_; }
  http::request<http::string_body> request() { return got_.get_future().get(); }

 private:
  void serve() {
    try {
      tcp::socket socket(ioc_);
      acceptor_.accept(socket);
      beast::ssl_stream<tcp::socket> stream(std::move(socket), ctx_);
      stream.handshake(ssl::stream_base::server);
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req);
      got_.set_value(req);
      if (mode_ == Mode::kHang) {
        release_.get_future().wait();
        return;
      }
      if (mode_ == Mode::kGarbage) {
        asio::write(stream, asio::buffer(std::string("this is not HTTP\r\n\r\n")));
        return;
      }
      http::response<http::string_body> res{http::status::created, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = mode_ == Mode::kHuge ? std::string(3000, 'x') : R"({"ok":true})";
      res.prepare_payload();
      http::write(stream, res);
      boost::system::error_code ignored;
      stream.shutdown(ignored);
    } catch (const std::exception&) {
      // The client gave up (verification failure, timeout): nothing to serve.
    }
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  Mode mode_;
  unsigned short port_ = 0;
  std::promise<http::request<http::string_body>> got_;
  std::promise<void> release_;
  std::thread thread_;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ws-https-client-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"a", "b"}) {
      const std::string cmd =
          "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
          "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 1 -keyout '" +
          dir_ + "/" + name + "-key.pem' -out '" + dir_ + "/" + name + "-cert.pem' >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  static std::string key(const char* n) { return dir_ + "/" + n + "-key.pem"; }
  static std::string cert(const char* n) { return dir_ + "/" + n + "-cert.pem"; }

  void SetUp() override {
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  /// One request from a client trusting only certificate `trusted`; waits for the answer.
  core::Result<ice::HttpResponse> send(const std::string& trusted, ice::HttpRequest req,
                                       std::chrono::milliseconds timeout = 3000ms,
                                       std::size_t max_body = 1 << 20) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->load_verify_file(trusted);
    HttpsClient client(ioc_.get_executor(), ctx, max_body);
    std::promise<core::Result<ice::HttpResponse>> done;
    client.send(std::move(req), timeout,
                [&](core::Result<ice::HttpResponse> r) { done.set_value(std::move(r)); });
    auto future = done.get_future();
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no completion within 10 s";
      std::abort();  // the pending handler references this frame
    }
    return future.get();
  }

  static ice::HttpRequest post(unsigned short port, std::string host = "127.0.0.1") {
    return {"POST",
            "https://" + host + ":" + std::to_string(port) + "/2010-04-01/Accounts/AC1/Tokens.json",
            {{"Authorization", "Basic dXNlcjpwYXNz"}, {"Content-Type", "text/plain"}},
            "Ttl=60"};
  }

  static inline std::string dir_;
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

TEST_F(HttpsClientTest, SendsTheRequestAndReturnsStatusAndBody) {
  OneShotServer server(key("a"), cert("a"), Mode::kReply);
  auto res = send(cert("a"), post(server.port()));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, R"({"ok":true})");
  auto req = server.request();
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/2010-04-01/Accounts/AC1/Tokens.json");
  EXPECT_EQ(req[http::field::authorization], "Basic dXNlcjpwYXNz");
  EXPECT_EQ(req[http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(req.body(), "Ttl=60");
}

TEST_F(HttpsClientTest, HostNamesAreVerifiedToo) {
  OneShotServer server(key("a"), cert("a"), Mode::kReply);
  auto res = send(cert("a"), post(server.port(), "localhost"));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 201);
}

TEST_F(HttpsClientTest, AnUntrustedCertificateIsRefused) {
  OneShotServer server(key("a"), cert("a"), Mode::kReply);
  auto res = send(cert("b"), post(server.port()));
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(res.error().message, HasSubstr("certificate verify failed"));
  EXPECT_THAT(res.error().message, ::testing::Not(HasSubstr("dXNlcjpwYXNz")));
}

TEST_F(HttpsClientTest, ACertificateForAnotherHostIsRefused) {
  // 127.0.0.2 is this machine too, but the certificate names only 127.0.0.1 and localhost.
  OneShotServer server(key("a"), cert("a"), Mode::kReply, "127.0.0.2");
  auto res = send(cert("a"), post(server.port(), "127.0.0.2"));
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("certificate verify failed"));
}

TEST_F(HttpsClientTest, ASilentServerTimesOutWithinTheBound) {
  OneShotServer server(key("a"), cert("a"), Mode::kHang);
  const auto start = std::chrono::steady_clock::now();
  auto res = send(cert("a"), post(server.port()), 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("timed out after 300 ms"));
  EXPECT_LT(took, 300ms + test::kSlack + 1s) << "the timeout bounds the whole exchange";
}

TEST_F(HttpsClientTest, RefusedConnectionIsAnError) {
  unsigned short port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto res = send(cert("a"), post(port));
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("connecting to 127.0.0.1:"));
}

TEST_F(HttpsClientTest, ABodyAboveTheLimitIsAnError) {
  OneShotServer server(key("a"), cert("a"), Mode::kHuge);
  auto res = send(cert("a"), post(server.port()), 3000ms, 1024);
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("exceeds 1024 bytes"));
}

TEST_F(HttpsClientTest, ANonHttpAnswerIsAnError) {
  OneShotServer server(key("a"), cert("a"), Mode::kGarbage);
  auto res = send(cert("a"), post(server.port()));
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message, HasSubstr("reading from 127.0.0.1:"));
}

TEST_F(HttpsClientTest, OnlyHttpsUrlsAreSent) {
  for (const char* url : {"http://127.0.0.1:1/x", "ftp://h/x", "not a url", "https://u:p@h/x"}) {
    SCOPED_TRACE(url);
    ice::HttpRequest req{"GET", url, {}, {}};
    auto res = send(cert("a"), req);
    ASSERT_FALSE(res);
    EXPECT_THAT(res.error().message, HasSubstr("bad request URL"));
    EXPECT_THAT(res.error().message, ::testing::Not(HasSubstr("u:p")));
  }
}

}  // namespace
}  // namespace ws::net
