// TURN REST credentials: the coturn use-auth-secret scheme, per attendee, per request.
#include "ice/turn_rest.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace ws::ice {
namespace {

namespace json = boost::json;

// Expected values computed independently:
//   printf '%s' "1700086400:_abcdefghij" | openssl dgst -sha1 -hmac s3cret -binary | base64
TEST(TurnRest, CredentialIsBase64OfHmacSha1OfTheUsername) {
  EXPECT_EQ(turn_rest_credential("s3cret", "1700086400:_abcdefghij"),
            "cRt0IBmnm0iW9pjKiisd7BA7yl4=");
  EXPECT_EQ(turn_rest_credential("s3cret", "1700086400|_abcdefghij"),
            "2XBS4OMvvc+tJqzzprmVXzMbRMo=");
}

TEST(TurnRest, UsernameIsExpiryDelimiterAttendee) {
  EXPECT_EQ(turn_rest_username(1700086400, ":", "_abcdefghij"), "1700086400:_abcdefghij");
  EXPECT_EQ(turn_rest_username(5, "||", "_x"), "5||_x");
}

TurnRestOptions options() {
  return {"s3cret",
          ":",
          {"turn:127.0.0.1:3478?transport=udp", "turns:t.example:5349"},
          {"stun:127.0.0.1:3478"},
          86400};
}

TEST(TurnRest, AnswersStunThenTurnWithExpiryNowPlusTtl) {
  TurnRestIceProvider p(options(), [] { return std::int64_t{1700000000}; });
  core::Result<json::array> got = core::fail(core::ErrorCode::kInternal, "not called");
  p.fetch(core::AttendeeId{"_abcdefghij"}, [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(json::serialize(*got),
            R"([{"urls":["stun:127.0.0.1:3478"]},)"
            R"({"urls":["turn:127.0.0.1:3478?transport=udp","turns:t.example:5349"],)"
            R"("username":"1700086400:_abcdefghij","credential":"cRt0IBmnm0iW9pjKiisd7BA7yl4="}])");
}

TEST(TurnRest, WithoutStunUrlsOnlyTheTurnEntry) {
  auto o = options();
  o.stun_urls.clear();
  o.delimiter = "|";
  TurnRestIceProvider p(o, [] { return std::int64_t{1700000000}; });
  core::Result<json::array> got = core::fail(core::ErrorCode::kInternal, "not called");
  p.fetch(core::AttendeeId{"_abcdefghij"}, [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->at(0).at("username").as_string(), "1700086400|_abcdefghij");
  EXPECT_EQ(got->at(0).at("credential").as_string(), "2XBS4OMvvc+tJqzzprmVXzMbRMo=");
}

TEST(TurnRest, EachRequestUsesTheClockAndTheAttendee) {
  std::int64_t now = 1000;
  TurnRestIceProvider p(options(), [&] { return now; });
  std::vector<std::string> users;
  auto record = [&](core::Result<json::array> r) {
    ASSERT_TRUE(r);
    users.emplace_back(r->back().at("username").as_string());
  };
  p.fetch(core::AttendeeId{"_a"}, record);
  now = 2000;
  p.fetch(core::AttendeeId{"_a"}, record);
  p.fetch(core::AttendeeId{"_b"}, record);
  EXPECT_EQ(users, (std::vector<std::string>{"87400:_a", "88400:_a", "88400:_b"}));
}

TEST(TurnRest, NoAttendeeFailsSoTheNextProviderAnswers) {
  TurnRestIceProvider p(options(), [] { return std::int64_t{1}; });
  for (auto who : {std::optional<core::AttendeeId>{}, std::optional(core::AttendeeId{""})}) {
    core::Result<json::array> got = json::array{};
    p.fetch(who, [&](auto r) { got = std::move(r); });
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, core::ErrorCode::kUnavailable);
  }
}

}  // namespace
}  // namespace ws::ice
