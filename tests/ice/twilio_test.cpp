// Twilio NTS provider: request shape, mapping, cache until ttl/2, single flight, fallback,
// failure streak logging, and no secret in any log line.
#include "ice/twilio.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "auth/jwt.hpp"

namespace ws::ice {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

/// Records requests; the test completes them with `reply`/`fail`.
class FakeHttp final : public HttpClient {
 public:
  void send(HttpRequest request, std::chrono::milliseconds timeout, Done done) override {
    requests.push_back(std::move(request));
    timeouts.push_back(timeout);
    pending.push_back(std::move(done));
  }
  void reply(int status, std::string body) {
    ASSERT_FALSE(pending.empty()) << "no request in flight";
    auto done = std::move(pending.front());
    pending.erase(pending.begin());
    done(HttpResponse{status, std::move(body)});
  }
  void fail(std::string why) {
    ASSERT_FALSE(pending.empty()) << "no request in flight";
    auto done = std::move(pending.front());
    pending.erase(pending.begin());
    done(core::fail(core::ErrorCode::kUnavailable, std::move(why)));
  }
  std::vector<HttpRequest> requests;
  std::vector<std::chrono::milliseconds> timeouts;
  std::vector<Done> pending;
};

constexpr const char* kSid = "AC0123456789abcdef0123456789abcdef";
constexpr const char* kToken = "auth-token-7f3e9a1c5b2d4e6f";

/// A body shaped like Twilio's real answer (extra fields, legacy `url` next to `urls`).
std::string tokens_body(const std::string& ttl_json = R"("86400")") {
  return R"({"username":"dc2d2894d5a9023620c467b0e71cfa6a35457e6679785ed6ae9856fe5bdfa269",
    "ice_servers":[
      {"url":"stun:global.stun.twilio.com:3478","urls":"stun:global.stun.twilio.com:3478"},
      {"url":"turn:global.turn.twilio.com:3478?transport=udp",
       "username":"dc2d2894","urls":"turn:global.turn.twilio.com:3478?transport=udp",
       "credential":"tE2DajzSJwnsSbc123"},
      {"url":"turn:global.turn.twilio.com:443?transport=tcp","username":"dc2d2894",
       "credential":"tE2DajzSJwnsSbc123"}],
    "date_updated":"Fri, 01 May 2020 01:42:57 +0000","account_sid":"AC0123",
    "ttl":)" +
         ttl_json + R"(,"date_created":"Fri, 01 May 2020 01:42:57 +0000",
    "password":"tE2DajzSJwnsSbc123"})";
}

constexpr const char* kMapped =
    R"([{"urls":"stun:global.stun.twilio.com:3478"},)"
    R"({"urls":"turn:global.turn.twilio.com:3478?transport=udp","username":"dc2d2894","credential":"tE2DajzSJwnsSbc123"},)"
    R"({"urls":"turn:global.turn.twilio.com:443?transport=tcp","username":"dc2d2894","credential":"tE2DajzSJwnsSbc123"}])";

struct Fixture {
  FakeHttp http;
  Clock::time_point now = Clock::time_point{} + 1000h;
  std::vector<core::Log> logs;
  std::vector<std::pair<bool, double>> fetched;
  TwilioIceProvider provider{TwilioOptions{"https://127.0.0.1:8443/", kSid, kToken, 1500ms}, http,
                             TwilioObserver{[this](bool ok, std::chrono::duration<double> d) {
                                              fetched.emplace_back(ok, d.count());
                                            },
                                            [this](core::Log l) { logs.push_back(std::move(l)); }},
                             [this] { return now; }};

  /// Asks once; returns the answer if it came synchronously.
  std::optional<core::Result<json::array>> ask() {
    auto slot = std::make_shared<std::optional<core::Result<json::array>>>();
    answers.push_back(slot);
    provider.fetch(core::AttendeeId{"_a"},
                   [slot](core::Result<json::array> r) { *slot = std::move(r); });
    return *slot;
  }
  std::vector<std::shared_ptr<std::optional<core::Result<json::array>>>> answers;

  std::string all_logs() const {
    std::string out;
    for (const auto& l : logs) {
      out += l.event;
      for (const auto& [k, v] : l.fields) out += " " + k + "=" + v;
      out += "\n";
    }
    return out;
  }
};

TEST(Twilio, PostsToTokensJsonWithBasicAuth) {
  Fixture f;
  EXPECT_FALSE(f.ask()) << "answers only once the fetch completes";
  ASSERT_EQ(f.http.requests.size(), 1u);
  const HttpRequest& r = f.http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url,
            std::string("https://127.0.0.1:8443/2010-04-01/Accounts/") + kSid + "/Tokens.json");
  std::map<std::string, std::string> headers(r.headers.begin(), r.headers.end());
  EXPECT_EQ(headers["Authorization"],
            "Basic " + auth::base64_encode(std::string(kSid) + ":" + kToken));
  EXPECT_EQ(headers["Content-Type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(f.http.timeouts[0], 1500ms);
}

TEST(Twilio, MapsIceServersToRtcIceServer) {
  Fixture f;
  f.ask();
  f.http.reply(201, tokens_body());
  ASSERT_TRUE(*f.answers[0] && **f.answers[0]);
  EXPECT_EQ(json::serialize(***f.answers[0]), kMapped);
  ASSERT_EQ(f.fetched.size(), 1u);
  EXPECT_TRUE(f.fetched[0].first);
}

TEST(Twilio, CachesUntilHalfTheTtlThenFetchesAgain) {
  Fixture f;
  f.ask();
  f.http.reply(201, tokens_body("100"));  // ttl as a number
  f.now += 49s;
  auto cached = f.ask();
  ASSERT_TRUE(cached && *cached) << "inside ttl/2 the cache answers at once";
  EXPECT_EQ(json::serialize(**cached), kMapped);
  EXPECT_EQ(f.http.requests.size(), 1u);
  f.now += 1s;  // exactly ttl/2
  EXPECT_FALSE(f.ask());
  EXPECT_EQ(f.http.requests.size(), 2u);
  f.http.reply(201, tokens_body(R"("10")"));  // ttl as a string
  f.now += 4s;
  EXPECT_TRUE(f.ask());
  f.now += 1s;
  EXPECT_FALSE(f.ask());
  EXPECT_EQ(f.http.requests.size(), 3u);
}

TEST(Twilio, ConcurrentRequestsShareOneFetch) {
  Fixture f;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(f.ask());
  EXPECT_EQ(f.http.requests.size(), 1u);
  f.http.reply(201, tokens_body());
  for (const auto& a : f.answers) {
    ASSERT_TRUE(*a && **a);
    EXPECT_EQ(json::serialize(***a), kMapped);
  }
}

TEST(Twilio, FailuresReachEveryWaiterAsErrorsSoTheChainFallsBack) {
  const std::vector<std::pair<std::string, std::function<void(FakeHttp&)>>> cases = {
      {"HTTP 500", [](FakeHttp& h) { h.reply(500, R"({"code":20500,"message":"Internal"})"); }},
      {"HTTP 401", [](FakeHttp& h) { h.reply(401, R"({"message":"Authenticate"})"); }},
      {"garbage", [](FakeHttp& h) { h.reply(201, "<html>surprise</html>"); }},
      {"no ice_servers", [](FakeHttp& h) { h.reply(201, R"({"ttl":"60"})"); }},
      {"timeout", [](FakeHttp& h) { h.fail("timed out after 1500 ms"); }},
  };
  for (const auto& [name, complete] : cases) {
    SCOPED_TRACE(name);
    Fixture f;
    f.ask();
    f.ask();
    complete(f.http);
    for (const auto& a : f.answers) {
      ASSERT_TRUE(a->has_value());
      ASSERT_FALSE(**a);
      EXPECT_EQ((*a)->error().code, core::ErrorCode::kUnavailable);
      EXPECT_THAT((*a)->error().message, HasSubstr("twilio: "));
    }
    ASSERT_EQ(f.fetched.size(), 1u);
    EXPECT_FALSE(f.fetched[0].first);
    EXPECT_FALSE(f.ask()) << "a failure is not cached: the next request fetches again";
    EXPECT_EQ(f.http.requests.size(), 2u);
  }
}

TEST(Twilio, ErrorStatusKeepsOnlyTwilioNumericCode) {
  Fixture f;
  f.ask();
  f.http.reply(401, R"({"code":20003,"message":"Authenticate","status":401})");
  EXPECT_EQ((*f.answers[0])->error().message, "twilio: HTTP 401 (Twilio error 20003)");
}

TEST(Twilio, OneWarningPerFailureStreakAndOneLineOnRecovery) {
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    f.ask();
    f.http.reply(503, "{}");
  }
  ASSERT_EQ(f.logs.size(), 1u) << f.all_logs();
  EXPECT_EQ(f.logs[0].level, core::LogLevel::kWarn);
  EXPECT_EQ(f.logs[0].event, "ice.twilio_failed");
  EXPECT_THAT(f.all_logs(), HasSubstr("reason=HTTP 503"));
  f.ask();
  f.http.reply(201, tokens_body());
  ASSERT_EQ(f.logs.size(), 2u);
  EXPECT_EQ(f.logs[1].event, "ice.twilio_recovered");
  EXPECT_THAT(f.all_logs(), HasSubstr("failures=4"));
  f.now += 100000s;
  f.ask();
  f.http.fail("connection refused");
  EXPECT_EQ(f.logs.size(), 3u) << "a new streak warns again\n" << f.all_logs();
}

TEST(Twilio, StillValidCachedServersOutliveAFailedRefresh) {
  Fixture f;
  f.ask();
  f.http.reply(201, tokens_body("100"));
  f.now += 60s;  // past ttl/2, inside ttl
  f.ask();
  f.http.reply(500, "{}");
  ASSERT_TRUE(*f.answers[1] && **f.answers[1]) << "credentials still valid for 40 s";
  EXPECT_EQ(json::serialize(***f.answers[1]), kMapped);
  EXPECT_THAT(f.all_logs(), HasSubstr("serving=cached servers"));
  f.now += 40s;  // ttl reached: never serve expired credentials
  f.ask();
  f.http.reply(500, "{}");
  ASSERT_TRUE(f.answers[2]->has_value());
  EXPECT_FALSE(**f.answers[2]);
}

TEST(Twilio, NoLogLineOrErrorCarriesTheAuthToken) {
  Fixture f;
  const std::string basic = auth::base64_encode(std::string(kSid) + ":" + kToken);
  // A hostile or broken endpoint echoing the credentials back must not get them logged.
  for (const std::string& body :
       {std::string(R"({"message":")") + kToken + " " + basic + R"("})", std::string(kToken)}) {
    f.now += 1000000s;  // past any cached ttl: each ask fetches
    f.ask();
    f.http.reply(401, body);
    f.ask();
    f.http.reply(201, tokens_body());
  }
  for (const auto& a : f.answers) {
    if (*a && !**a) {
      EXPECT_THAT((*a)->error().message, ::testing::Not(HasSubstr(kToken)));
    }
  }
  const std::string logs = f.all_logs();
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(kToken)));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(basic)));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(kSid))) << "the SID is kept private too";
}

TEST(TwilioParse, AcceptsTheShapesTwilioSends) {
  struct Case {
    std::string name, body, servers;
    std::int64_t ttl;
  };
  const Case cases[] = {
      {"ttl number", R"({"ttl":60,"ice_servers":[{"urls":"stun:a"}]})", R"([{"urls":"stun:a"}])",
       60},
      {"ttl string", R"({"ttl":"3600","ice_servers":[{"urls":"stun:a"}]})",
       R"([{"urls":"stun:a"}])", 3600},
      {"ttl absent", R"({"ice_servers":[{"urls":"stun:a"}]})", R"([{"urls":"stun:a"}])", 86400},
      {"legacy url only", R"({"ice_servers":[{"url":"turn:b","username":"u","credential":"c"}]})",
       R"([{"urls":"turn:b","username":"u","credential":"c"}])", 86400},
      {"urls array", R"({"ice_servers":[{"urls":["stun:a","turns:b"]}]})",
       R"([{"urls":["stun:a","turns:b"]}])", 86400},
      {"extra fields dropped", R"({"ice_servers":[{"urls":"stun:a","url":"stun:a","x":1}]})",
       R"([{"urls":"stun:a"}])", 86400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_twilio_tokens(c.body);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(json::serialize(parsed->servers), c.servers);
    EXPECT_EQ(parsed->ttl_seconds, c.ttl);
  }
}

TEST(TwilioParse, RejectsMalformedBodiesWithoutQuotingThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"secret-ish garbage", "not JSON"},
      {"[]", "not an object"},
      {R"({"ice_servers":{}})", "ice_servers is not an array"},
      {R"({"ice_servers":[]})", "ice_servers is empty"},
      {R"({"ice_servers":["stun:a"]})", "not an object"},
      {R"({"ice_servers":[{"username":"u"}]})", "no urls"},
      {R"({"ice_servers":[{"urls":7}]})", "neither a string nor an array"},
      {R"({"ice_servers":[{"urls":[]}]})", "urls is empty"},
      {R"({"ice_servers":[{"urls":"http://x"}]})", "stun:/turn: URL"},
      {R"({"ice_servers":[{"urls":["stun:a",5]}]})", "stun:/turn: URL"},
      {R"({"ice_servers":[{"urls":"stun:a","credential":5}]})", "credential is not a string"},
      {R"({"ttl":"12x","ice_servers":[{"urls":"stun:a"}]})", "ttl"},
      {R"({"ttl":0,"ice_servers":[{"urls":"stun:a"}]})", "ttl"},
      {R"({"ttl":-5,"ice_servers":[{"urls":"stun:a"}]})", "ttl"},
      {R"({"ttl":1.5,"ice_servers":[{"urls":"stun:a"}]})", "ttl"},
      {R"({"ttl":"","ice_servers":[{"urls":"stun:a"}]})", "ttl"},
      {R"({"ttl":"99999999999","ice_servers":[{"urls":"stun:a"}]})", "ttl"},
  };
  for (const auto& [body, want] : cases) {
    SCOPED_TRACE(body);
    auto parsed = parse_twilio_tokens(body);
    ASSERT_FALSE(parsed);
    EXPECT_THAT(parsed.error().message, HasSubstr(want));
    EXPECT_THAT(parsed.error().message, ::testing::Not(HasSubstr("secret-ish")));
  }
}

TEST(TwilioUrl, JoinsBaseAndAccountPath) {
  EXPECT_EQ(twilio_tokens_url("https://api.twilio.com", "AC1"),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Tokens.json");
  EXPECT_EQ(twilio_tokens_url("https://h:1/prefix/", "AC1"),
            "https://h:1/prefix/2010-04-01/Accounts/AC1/Tokens.json");
}

}  // namespace
}  // namespace ws::ice
