// Route table: status, content type and headers of every endpoint, without sockets.
#include "net/detail/routes.hpp"

#include <string>
#include <variant>

#include <gtest/gtest.h>

namespace ws::net::detail {
namespace {

namespace http = boost::beast::http;

struct Env {
  bool ready = true;
  bool accepting = true;
  RouteTable routes = default_routes(
      "9.9.9", HttpHooks{[this] { return ready; }, [] { return std::string("m 1\n"); }},
      [this] { return accepting; });
};

Request make_request(http::verb method, std::string target) {
  Request req{method, target, 11};
  req.set(http::field::host, "localhost");
  return req;
}

Response respond(const Env& env, const Request& req) {
  Reply reply = env.routes.dispatch(req);
  EXPECT_TRUE(std::holds_alternative<Response>(reply)) << req.target();
  if (!std::holds_alternative<Response>(reply)) return {};
  return std::get<Response>(reply);
}

TEST(Routes, AnswersEachEndpoint) {
  struct Case {
    const char* name;
    http::verb method;
    const char* target;
    http::status want_status;
    const char* want_type;
    const char* want_body;  // nullptr: not checked
  };
  const Case cases[] = {
      {"index", http::verb::get, "/", http::status::ok, "text/html; charset=utf-8", nullptr},
      {"healthz", http::verb::get, "/healthz", http::status::ok, "text/plain; charset=utf-8", "ok"},
      {"readyz", http::verb::get, "/readyz", http::status::ok, "text/plain; charset=utf-8",
       "ready"},
      {"metrics", http::verb::get, "/metrics", http::status::ok,
       "text/plain; version=0.0.4; charset=utf-8", "m 1\n"},
      {"query ignored", http::verb::get, "/healthz?probe=1", http::status::ok,
       "text/plain; charset=utf-8", "ok"},
      {"absolute form", http::verb::get, "http://localhost:9090/healthz", http::status::ok,
       "text/plain; charset=utf-8", "ok"},
      {"ws without upgrade", http::verb::get, "/ws", http::status::upgrade_required,
       "text/plain; charset=utf-8", nullptr},
      {"unknown path", http::verb::get, "/nope", http::status::not_found,
       "text/plain; charset=utf-8", nullptr},
      {"prefix is not a match", http::verb::get, "/healthz/x", http::status::not_found,
       "text/plain; charset=utf-8", nullptr},
      {"post to healthz", http::verb::post, "/healthz", http::status::method_not_allowed,
       "text/plain; charset=utf-8", nullptr},
      {"delete ws", http::verb::delete_, "/ws", http::status::method_not_allowed,
       "text/plain; charset=utf-8", nullptr},
  };
  Env env;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Response res = respond(env, make_request(c.method, c.target));
    EXPECT_EQ(res.result(), c.want_status);
    EXPECT_EQ(res[http::field::content_type], c.want_type);
    if (c.want_body) {
      EXPECT_EQ(res.body(), c.want_body);
    }
  }
}

TEST(Routes, IndexPageNamesTheVersionAndLinksTheDemo) {
  Env env;
  Response res = respond(env, make_request(http::verb::get, "/"));
  EXPECT_NE(res.body().find("workspaces signaling server 9.9.9 is running"), std::string::npos);
  EXPECT_NE(res.body().find("href=\"/demo/\""), std::string::npos);
}

TEST(Routes, IndexPageEscapesTheVersion) {
  RouteTable routes = default_routes("<b>", {}, [] { return true; });
  Reply reply = routes.dispatch(make_request(http::verb::get, "/"));
  const auto& body = std::get<Response>(reply).body();
  EXPECT_EQ(body.find("<b>"), std::string::npos);
  EXPECT_NE(body.find("&lt;b&gt;"), std::string::npos);
}

TEST(Routes, MethodNotAllowedListsTheAllowedMethods) {
  Env env;
  Response res = respond(env, make_request(http::verb::put, "/metrics"));
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, HEAD");
}

TEST(Routes, UpgradeRequiredNamesWebSocket) {
  Env env;
  Response res = respond(env, make_request(http::verb::get, "/ws"));
  EXPECT_EQ(res[http::field::upgrade], "websocket");
}

TEST(Routes, WebSocketUpgradeRequestBecomesNativeUpgrade) {
  Env env;
  Request req = make_request(http::verb::get, "/ws");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  Reply reply = env.routes.dispatch(req);
  ASSERT_TRUE(std::holds_alternative<Upgrade>(reply));
  EXPECT_EQ(std::get<Upgrade>(reply).transport, Transport::kNative);
}

Request upgrade_request(std::string target) {
  Request req = make_request(http::verb::get, std::move(target));
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

TEST(Routes, SocketIoUpgradeChoosesTheEngineIoVersion) {
  struct Case {
    std::string target;
    Transport want;
  };
  const Case cases[] = {
      {"/socket.io/?EIO=4&transport=websocket", Transport::kEio4},
      {"/socket.io/?transport=websocket&EIO=3", Transport::kEio3},
      {"/socket.io/?EIO=4&transport=websocket&t=abc", Transport::kEio4},
  };
  Env env;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Reply reply = env.routes.dispatch(upgrade_request(c.target));
    ASSERT_TRUE(std::holds_alternative<Upgrade>(reply));
    EXPECT_EQ(std::get<Upgrade>(reply).transport, c.want);
  }
}

TEST(Routes, SocketIoRefusesPollingAndBadVersionsWithJson400) {
  struct Case {
    std::string target;
    bool upgrade;
    std::string want_body_part;
  };
  const Case cases[] = {
      {"/socket.io/?EIO=4&transport=polling", false, "transports: ['websocket']"},
      {"/socket.io/?EIO=4&transport=polling", true, "only the websocket transport"},
      {"/socket.io/?EIO=4", true, "\"code\":3"},
      {"/socket.io/?EIO=4&transport=websocket", false, "\"code\":3"},
      {"/socket.io/?EIO=2&transport=websocket", true, "\"code\":5"},
      {"/socket.io/?transport=websocket", true, "Unsupported protocol version"},
  };
  Env env;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Response res = respond(
        env, c.upgrade ? upgrade_request(c.target) : make_request(http::verb::get, c.target));
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_NE(res.body().find(c.want_body_part), std::string::npos) << res.body();
  }
}

TEST(Routes, ReadyzReportsNotReadyAndDraining) {
  Env env;
  env.ready = false;
  Response res = respond(env, make_request(http::verb::get, "/readyz"));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "not ready");

  env.ready = true;
  env.accepting = false;
  res = respond(env, make_request(http::verb::get, "/readyz"));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "draining");
}

TEST(Routes, MissingHooksMeanReadyAndEmptyMetrics) {
  RouteTable routes = default_routes("1", {}, [] { return true; });
  EXPECT_EQ(std::get<Response>(routes.dispatch(make_request(http::verb::get, "/readyz"))).result(),
            http::status::ok);
  EXPECT_EQ(std::get<Response>(routes.dispatch(make_request(http::verb::get, "/metrics"))).body(),
            "");
}

TEST(Routes, UnparsableTargetIsBadRequest) {
  Env env;
  Response res = respond(env, make_request(http::verb::get, "/a b"));
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST(Routes, FinalizeAddsCommonHeaders) {
  Response res = make_response(http::status::ok, "text/plain", "hello");
  finalize(res, "workspaces/1.0", true, false);
  EXPECT_EQ(res[http::field::server], "workspaces/1.0");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res[http::field::cache_control], "no-store");
  EXPECT_EQ(res[http::field::content_length], "5");
  EXPECT_TRUE(res.keep_alive());
}

TEST(Routes, FinalizeKeepsAChosenCacheControl) {
  Response res = make_response(http::status::ok, "text/javascript", "x");
  res.set(http::field::cache_control, "public, max-age=60");
  finalize(res, "workspaces", false, false);
  EXPECT_EQ(res[http::field::cache_control], "public, max-age=60");
  EXPECT_FALSE(res.keep_alive());
}

TEST(Routes, FinalizeHeadDropsBodyButKeepsLength) {
  Response res = make_response(http::status::ok, "text/plain", "hello");
  finalize(res, "workspaces", true, true);
  EXPECT_EQ(res.body(), "");
  EXPECT_EQ(res[http::field::content_length], "5");
}

TEST(Routes, AddedRoutesExtendTheTable) {
  // The extension point for /socket.io/, /demo/ and /sdk/.
  RouteTable routes = default_routes("1", {}, [] { return true; });
  routes.add({"/sdk/", true, {http::verb::get}, [](const Request& req) -> Reply {
                return make_response(http::status::ok, "text/javascript",
                                     std::string(req.target()));
              }});
  Reply reply = routes.dispatch(make_request(http::verb::get, "/sdk/client.js"));
  ASSERT_TRUE(std::holds_alternative<Response>(reply));
  EXPECT_EQ(std::get<Response>(reply).body(), "/sdk/client.js");
}

}  // namespace
}  // namespace ws::net::detail
