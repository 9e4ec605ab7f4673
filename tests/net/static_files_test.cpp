// Static files (/demo/, /sdk/) over real sockets: content types, ETag revalidation, the
// security headers and the /demo redirect.
#include <string>

#include <gtest/gtest.h>

#include "net/detail/routes.hpp"
#include "net/net_test_support.hpp"

namespace ws::net::test {
namespace {

constexpr std::string_view kIndex = "<!doctype html><title>demo</title>";
constexpr std::string_view kScript = "export const x = 1;\n";
constexpr std::string_view kStyle = "body { margin: 0 }\n";

ServerOptions with_files() {
  ServerOptions o = test_options();
  o.static_files = {{"/demo/index.html", kIndex},
                    {"/demo/demo.css", kStyle},
                    {"/sdk/workspaces.js", kScript},
                    {"/sdk/workspaces.d.ts", "export {};\n"}};
  return o;
}

TEST(StaticFiles, ServedWithTheirTypeAndTheSecurityHeaders) {
  ServerHarness h(with_files());
  ASSERT_TRUE(h.ok());
  struct Case {
    const char* target;
    std::string_view body;
    const char* type;
  };
  const Case cases[] = {
      {"/demo/", kIndex, "text/html; charset=utf-8"},
      {"/demo/index.html", kIndex, "text/html; charset=utf-8"},
      {"/demo/demo.css", kStyle, "text/css; charset=utf-8"},
      {"/sdk/workspaces.js", kScript, "text/javascript; charset=utf-8"},
      {"/sdk/workspaces.d.ts", "export {};\n", "text/plain; charset=utf-8"},
  };
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    auto r = client.get(c.target);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.res.result(), http::status::ok);
    EXPECT_EQ(r.res.body(), c.body);
    EXPECT_EQ(r.res[http::field::content_type], c.type);
    EXPECT_EQ(r.res[http::field::cache_control], "no-cache");
    EXPECT_EQ(r.res["Content-Security-Policy"], detail::kStaticCsp);
    EXPECT_EQ(r.res["Referrer-Policy"], "no-referrer");
    EXPECT_EQ(r.res["X-Content-Type-Options"], "nosniff");
    EXPECT_FALSE(r.res[http::field::etag].empty());
    const bool sdk = std::string_view(c.target).starts_with("/sdk/");
    EXPECT_EQ(r.res[http::field::access_control_allow_origin], sdk ? "*" : "")
        << "only the SDK may be imported from other origins";
  }
  EXPECT_EQ(client.get("/demo/missing.js").res.result(), http::status::not_found);
  EXPECT_EQ(client.get("/sdk/").res.result(), http::status::not_found);
}

TEST(StaticFiles, TheCspAllowsOnlyThisOriginForScriptsStylesAndConnections) {
  const std::string csp(detail::kStaticCsp);
  for (const char* directive :
       {"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "frame-ancestors 'none'", "base-uri 'none'", "media-src 'self' blob: mediastream:"}) {
    EXPECT_NE(csp.find(directive), std::string::npos) << directive;
  }
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
}

TEST(StaticFiles, IfNoneMatchWithTheCurrentEtagIs304WithoutBody) {
  ServerHarness h(with_files());
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  const std::string etag(client.get("/sdk/workspaces.js").res[http::field::etag]);
  ASSERT_EQ(etag.front(), '"');
  for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    SCOPED_TRACE(header);
    http::request<http::string_body> req{http::verb::get, "/sdk/workspaces.js", 11};
    req.set(http::field::if_none_match, header);
    auto r = client.send(req);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.res.result(), http::status::not_modified);
    EXPECT_TRUE(r.res.body().empty());
    EXPECT_EQ(r.res[http::field::etag], etag);
  }
  http::request<http::string_body> stale{http::verb::get, "/sdk/workspaces.js", 11};
  stale.set(http::field::if_none_match, "\"0000000000000000\"");
  auto r = client.send(stale);
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(r.res.body(), kScript);
  EXPECT_NE(client.get("/demo/demo.css").res[http::field::etag], etag) << "one ETag per body";
}

TEST(StaticFiles, DemoWithoutSlashRedirectsAndOtherMethodsAreRefused) {
  ServerHarness h(with_files());
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  auto redirect = client.get("/demo");
  EXPECT_EQ(redirect.res.result(), http::status::permanent_redirect);
  EXPECT_EQ(redirect.res[http::field::location], "/demo/");
  auto head = client.get("/demo/", http::verb::head);
  EXPECT_EQ(head.res.result(), http::status::ok);
  EXPECT_EQ(head.res[http::field::content_length], std::to_string(kIndex.size()));
  EXPECT_EQ(client.get("/demo/", http::verb::post).res.result(), http::status::method_not_allowed);
}

TEST(StaticFiles, WithoutFilesThereIsNoDemo) {
  ServerHarness h(test_options());
  ASSERT_TRUE(h.ok());
  HttpClient client;
  ASSERT_FALSE(client.connect(h.port()));
  EXPECT_EQ(client.get("/demo/").res.result(), http::status::not_found);
}

}  // namespace
}  // namespace ws::net::test
