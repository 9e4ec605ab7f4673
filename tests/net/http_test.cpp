// HTTP over real sockets: endpoints, common headers, limits, timeouts, keep-alive, draining.
#include <string>

#include <gtest/gtest.h>

#include "net/net_test_support.hpp"

namespace ws::net::test {
namespace {

TEST(Http, EndpointsAnswerWithStatusTypeAndCommonHeaders) {
  ServerHarness h(test_options(),
                  HttpHooks{[] { return true; }, [] { return std::string("workspaces_up 1\n"); }});
  ASSERT_TRUE(h.ok());
  struct Case {
    const char* target;
    http::verb method;
    http::status want_status;
    const char* want_type;
  };
  const Case cases[] = {
      {"/", http::verb::get, http::status::ok, "text/html; charset=utf-8"},
      {"/healthz", http::verb::get, http::status::ok, "text/plain; charset=utf-8"},
      {"/readyz", http::verb::get, http::status::ok, "text/plain; charset=utf-8"},
      {"/metrics", http::verb::get, http::status::ok, "text/plain; version=0.0.4; charset=utf-8"},
      {"/ws", http::verb::get, http::status::upgrade_required, "text/plain; charset=utf-8"},
      {"/missing", http::verb::get, http::status::not_found, "text/plain; charset=utf-8"},
      {"/healthz", http::verb::post, http::status::method_not_allowed, "text/plain; charset=utf-8"},
  };
  HttpClient client;  // one keep-alive connection for all of them
  ASSERT_FALSE(client.connect(h.port()));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    auto r = client.get(c.target, c.method);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.res.result(), c.want_status);
    EXPECT_EQ(r.res[http::field::content_type], c.want_type);
    EXPECT_EQ(r.res[http::field::server], "workspaces/1.2.3-test");
    EXPECT_EQ(r.res["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(r.res[http::field::cache_control], "no-store");
    EXPECT_TRUE(r.res.keep_alive());
  }
}

TEST(Http, BodiesOfHealthReadyMetricsAndIndex) {
  ServerHarness h(test_options(), HttpHooks{{}, [] { return std::string("workspaces_up 1\n"); }});
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  EXPECT_EQ(client.get("/healthz").res.body(), "ok");
  EXPECT_EQ(client.get("/readyz").res.body(), "ready");
  EXPECT_EQ(client.get("/metrics").res.body(), "workspaces_up 1\n");
  EXPECT_NE(client.get("/").res.body().find("workspaces signaling server 1.2.3-test is running"),
            std::string::npos);
  auto not_allowed = client.get("/metrics", http::verb::delete_);
  EXPECT_EQ(not_allowed.res[http::field::allow], "GET, HEAD");
  EXPECT_EQ(client.get("/ws").res[http::field::upgrade], "websocket");
}

TEST(Http, ReadyzFollowsTheHook) {
  std::atomic<bool> ready{false};
  ServerHarness h(test_options(), HttpHooks{[&ready] { return ready.load(); }, {}});
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  auto r = client.get("/readyz");
  EXPECT_EQ(r.res.result(), http::status::service_unavailable);
  EXPECT_EQ(r.res.body(), "not ready");
  ready = true;
  EXPECT_EQ(client.get("/readyz").res.result(), http::status::ok);
}

TEST(Http, HeadIsGetWithoutBody) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  auto r = client.get("/healthz", http::verb::head);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(r.res[http::field::content_length], "2");
  EXPECT_EQ(r.res.body(), "");
  // The connection is still in sync: the next response is read correctly.
  EXPECT_EQ(client.get("/healthz").res.body(), "ok");
}

TEST(Http, HeaderTooLargeIs431AndCloses) {
  ServerOptions options = test_options();
  options.max_header_bytes = 1024;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  http::request<http::string_body> req{http::verb::get, "/healthz", 11};
  req.set("X-Padding", std::string(4000, 'a'));
  auto r = client.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.res.result(), http::status::request_header_fields_too_large);
  EXPECT_FALSE(r.res.keep_alive());
}

TEST(Http, BodyTooLargeIs413) {
  ServerOptions options = test_options();
  options.max_body_bytes = 100;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  http::request<http::string_body> req{http::verb::post, "/healthz", 11};
  req.body() = std::string(1000, 'x');
  auto r = client.send(req);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.res.result(), http::status::payload_too_large);
}

TEST(Http, MalformedRequestIs400) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write("GARBAGE\r\n\r\n"));
  std::string reply;
  EXPECT_TRUE(is_closed(raw.read_until_closed(reply)));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << reply;
}

TEST(Http, SlowHeadersAreClosedAfterHandshakeTimeout) {
  ServerOptions options = test_options();
  options.handshake_timeout = 300ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  const auto start = Clock::now();
  ASSERT_FALSE(raw.write("GET /healthz HT"));  // half a request line, then nothing
  std::string reply;
  const auto ec = raw.read_until_closed(reply, 300ms + kSlack + 1s);
  const auto elapsed = since(start);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  EXPECT_EQ(reply, "");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LE(elapsed, 300ms + kSlack);
}

TEST(Http, IdleKeepAliveConnectionIsClosedAfterHandshakeTimeout) {
  ServerOptions options = test_options();
  options.handshake_timeout = 300ms;
  ServerHarness h(options);
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply;
  const auto start = Clock::now();
  const auto ec = raw.read_until_closed(reply, 300ms + kSlack + 1s);
  EXPECT_TRUE(is_closed(ec)) << ec.message();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK")) << reply;
  EXPECT_LE(since(start), 300ms + kSlack);
}

TEST(Http, ConnectionCloseIsHonoured) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  RawClient raw;
  ASSERT_FALSE(raw.connect(h.port()));
  ASSERT_FALSE(raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string reply;
  EXPECT_TRUE(is_closed(raw.read_until_closed(reply, 2s)));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK")) << reply;
}

TEST(Http, StopAcceptingRefusesUpgradesWith503AndKeepsAnsweringHttp) {
  ServerHarness h;
  ASSERT_TRUE(h.ok());
  HttpClient client;  // connected before the drain starts
  ASSERT_FALSE(client.connect(h.port()));
  ASSERT_EQ(client.get("/healthz").res.result(), http::status::ok);

  h.server().stop_accepting();
  EXPECT_EQ(client.get("/readyz").res.body(), "draining");

  http::request<http::string_body> upgrade{http::verb::get, "/ws", 11};
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  auto r = client.send(upgrade);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.res.result(), http::status::service_unavailable);
  EXPECT_EQ(h.handler().opens(), 0);

  // New TCP connections still get HTTP answers (the drain is visible on /readyz), but no
  // WebSocket.
  HttpClient late;
  ASSERT_FALSE(late.connect(h.port()));
  auto ready = late.get("/readyz");
  EXPECT_EQ(ready.res.result(), http::status::service_unavailable);
  EXPECT_EQ(late.send(upgrade).res.result(), http::status::service_unavailable);
  EXPECT_EQ(h.handler().opens(), 0);
}

TEST(Http, OpenFailsWithAClearErrorWhenThePortIsTaken) {
  ServerHarness first;
  ASSERT_TRUE(first.ok());
  asio::io_context ioc;
  RecordingHandler handler;
  ServerOptions options = test_options();
  options.port = first.port();
  auto second = Server::open(ioc, options, handler, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
}

TEST(Http, OpenFailsOnABadBindAddress) {
  asio::io_context ioc;
  RecordingHandler handler;
  ServerOptions options = test_options();
  options.bind_address = "not-an-address";
  auto server = Server::open(ioc, options, handler, {});
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message.find("not-an-address"), std::string::npos);
}

}  // namespace
}  // namespace ws::net::test
