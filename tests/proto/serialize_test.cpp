// Tests for proto::serialize and proto::serialize_socketio (alerts built by core::views::alert).
#include "proto/serialize.hpp"
#include "core/views.hpp"

#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "proto/names.hpp"

namespace ws::proto {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::ServerEvent;
using core::ServerMessage;

TEST(Serialize, WritesTheNativeFrame) {
  struct Case {
    std::string name;
    ServerMessage msg;
    std::string want;
  };
  const Case cases[] = {
      {"reply with integer re",
       {ServerEvent::kOk, json::object{{"event", "leave"}}, 7},
       R"({"event":"ok","data":{"event":"leave"},"re":7})"},
      {"reply with string re",
       {ServerEvent::kLeft, json::object{{"workspace", {{"id", "_w"}}}}, "r-1"},
       R"({"event":"left","data":{"workspace":{"id":"_w"}},"re":"r-1"})"},
      {"push without re",
       {ServerEvent::kAttend, json::object{{"id", "_a"}, {"mic", true}}, nullptr},
       R"({"event":"attend","data":{"id":"_a","mic":true}})"},
      {"null data is {}", {ServerEvent::kOk, nullptr, nullptr}, R"({"event":"ok","data":{}})"},
      {"array data",
       {ServerEvent::kIceServers, json::array{{{"urls", "stun:s:19302"}}}, 3},
       R"({"event":"iceservers","data":[{"urls":"stun:s:19302"}],"re":3})"},
      {"negative re",
       {ServerEvent::kOk, json::object{}, -2},
       R"({"event":"ok","data":{},"re":-2})"},
      {"escapes data",
       {ServerEvent::kNegotiation, json::object{{"m", "a\"b\\c\n\xC3\xA9"}}, nullptr},
       R"({"event":"negotiation","data":{"m":"a\"b\\c\n)"
       "\xC3\xA9"
       R"("}})"},
      {"dashed name",
       {ServerEvent::kReAttendanceGranted, json::object{}, 1},
       R"({"event":"re-attendance-granted","data":{},"re":1})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(serialize(c.msg), c.want);
  }
}

TEST(Serialize, EveryServerEventMakesAValidFrame) {
  for (int i = 0; i <= static_cast<int>(ServerEvent::kServerShutdown); ++i) {
    const auto event = static_cast<ServerEvent>(i);
    SCOPED_TRACE(name(event));
    const std::string text = serialize({event, json::object{{"k", 1}}, 9});
    boost::system::error_code ec;
    const json::value frame = json::parse(text, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(frame.at("event").as_string(), name(event));
    EXPECT_EQ(frame.at("data"), (json::object{{"k", 1}}));
    EXPECT_EQ(frame.at("re"), 9);
  }
}

TEST(Alert, CarriesEachOptionalFieldOnlyWhenItApplies) {
  struct Case {
    std::string name;
    core::Error error;
    std::string event_name;
    json::value nonce;
    json::value re;
    std::string want;  // serialize(core::views::alert(...))
  };
  const Case cases[] = {
      {"code and message only",
       {ErrorCode::kBadRequest, "frame is not valid JSON", "", 0},
       "",
       nullptr,
       nullptr,
       R"({"event":"alert","data":{"code":"bad_request","message":"frame is not valid JSON"}})"},
      {"with event and re",
       {ErrorCode::kTokenInvalid, "bad token", "", 0},
       "leave",
       nullptr,
       7,
       R"({"event":"alert","data":{"code":"token_invalid","message":"bad token","event":"leave"},"re":7})"},
      {"with string nonce",
       {ErrorCode::kForbidden, "owner only", "", 0},
       "kick",
       "n1",
       nullptr,
       R"({"event":"alert","data":{"code":"forbidden","message":"owner only","event":"kick","nonce":"n1"}})"},
      {"with integer nonce and string re",
       {ErrorCode::kNotFound, "no such attendee", "", 0},
       "ring",
       42,
       "r",
       R"({"event":"alert","data":{"code":"not_found","message":"no such attendee","event":"ring","nonce":42},"re":"r"})"},
      {"with field",
       {ErrorCode::kTooLarge, "too long", "workspace.name", 0},
       "create",
       nullptr,
       nullptr,
       R"({"event":"alert","data":{"code":"too_large","message":"too long","event":"create","field":"workspace.name"}})"},
      {"rate_limited with retryAfter",
       {ErrorCode::kRateLimited, "slow down", "", 30},
       "attend",
       nullptr,
       1,
       R"({"event":"alert","data":{"code":"rate_limited","message":"slow down","event":"attend","retryAfter":30},"re":1})"},
      {"rate_limited retries after at least 1 s",
       {ErrorCode::kRateLimited, "slow down", "", 0},
       "",
       nullptr,
       nullptr,
       R"({"event":"alert","data":{"code":"rate_limited","message":"slow down","retryAfter":1}})"},
      {"retryAfter with another code",
       {ErrorCode::kUnavailable, "later", "", 5},
       "iceservers",
       nullptr,
       nullptr,
       R"({"event":"alert","data":{"code":"unavailable","message":"later","event":"iceservers","retryAfter":5}})"},
      {"negative retryAfter left out",
       {ErrorCode::kInternal, "oops", "", -3},
       "",
       nullptr,
       nullptr,
       R"({"event":"alert","data":{"code":"internal","message":"oops"}})"},
      {"everything",
       {ErrorCode::kBadRequest, "bad", "callee.id", 0},
       "ring",
       "n",
       12,
       R"({"event":"alert","data":{"code":"bad_request","message":"bad","event":"ring","nonce":"n","field":"callee.id"},"re":12})"},
      {"unknown event",
       {ErrorCode::kUnknownEvent, "unknown event", "", 0},
       "nope",
       nullptr,
       4,
       R"({"event":"alert","data":{"code":"unknown_event","message":"unknown event","event":"nope"},"re":4})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ServerMessage msg = core::views::alert(c.error, c.event_name, c.nonce, c.re);
    EXPECT_EQ(msg.event, ServerEvent::kAlert);
    EXPECT_EQ(msg.re, c.re);
    EXPECT_EQ(serialize(msg), c.want);
  }
}

TEST(SerializeSocketIo, WritesEventsAndAcks) {
  struct Case {
    std::string name;
    ServerMessage msg;
    bool as_ack;
    std::string want;
  };
  const json::object data{{"id", "_a"}};
  const Case cases[] = {
      {"event", {ServerEvent::kAttend, data, nullptr}, false, R"(42["attend",{"id":"_a"}])"},
      {"event drops re", {ServerEvent::kLeft, data, 7}, false, R"(42["left",{"id":"_a"}])"},
      {"ack",
       {ServerEvent::kAttendanceGranted, data, 7},
       true,
       R"(437["attendance-granted",{"id":"_a"}])"},
      {"ack zero", {ServerEvent::kOk, data, 0}, true, R"(430["ok",{"id":"_a"}])"},
      {"ack large",
       {ServerEvent::kOk, data, 9007199254740993},
       true,
       R"(439007199254740993["ok",{"id":"_a"}])"},
      {"ack without re is an event",
       {ServerEvent::kOk, data, nullptr},
       true,
       R"(42["ok",{"id":"_a"}])"},
      {"ack with string re is an event",
       {ServerEvent::kOk, data, "r"},
       true,
       R"(42["ok",{"id":"_a"}])"},
      {"ack with negative re is an event",
       {ServerEvent::kOk, data, -1},
       true,
       R"(42["ok",{"id":"_a"}])"},
      {"null data is {}", {ServerEvent::kRinging, nullptr, 3}, true, R"(433["ringing",{}])"},
      {"array data", {ServerEvent::kIceServers, json::array{}, 2}, true, R"(432["iceservers",[]])"},
      {"alert ack", core::views::alert({ErrorCode::kForbidden, "no", "", 0}, "kick", nullptr, 5),
       true, R"(435["alert",{"code":"forbidden","message":"no","event":"kick"}])"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(serialize_socketio(c.msg, c.as_ack), c.want);
  }
}

}  // namespace
}  // namespace ws::proto
