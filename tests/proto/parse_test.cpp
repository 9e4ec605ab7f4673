// Tests for proto::parse: frame checks, id/nonce/token forms, every event's fields and limits.
#include "proto/parse.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json.hpp>

namespace ws::proto {
namespace {

namespace json = boost::json;
using core::ClientEvent;
using core::ErrorCode;
using namespace std::string_literals;

// ---------------- helpers ----------------

std::string repeat(std::string_view unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

const std::string kE = "\xC3\xA9";              // é, two bytes
const std::string kSmile = "\xF0\x9F\x98\x80";  // 😀, four bytes

/// A frame from an event name and the JSON text of its data.
std::string frame(std::string_view event, std::string_view data) {
  return R"({"event":")" + std::string(event) + R"(","data":)" + std::string(data) + "}";
}

/// "code" or "code field", for compact expectations.
std::string brief(const core::Error& error) {
  std::string out(core::to_string(error.code));
  if (!error.field.empty()) out += " " + error.field;
  return out;
}

/// "ok", "frame <error>" or "<payload error>".
std::string outcome(const core::Request& req) {
  if (req.frame_error) return "frame " + brief(*req.frame_error);
  return req.payload ? "ok"s : brief(req.payload.error());
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // for compilers without aggregate CTAD (clang 14)

std::string show(const std::optional<std::string>& text) {
  return text ? *text : "-";
}
std::string show(const json::value& value) {
  return json::serialize(value);
}
std::string show(const std::optional<core::CallId>& id) {
  return id ? id->value : "-";
}

/// One line per payload: its type and every field ("-" when absent).
std::string describe(const core::Payload& payload) {
  return std::visit(
      Overloaded{
          [](const core::IceServersReq&) { return "IceServers{}"s; },
          [](const core::CreateReq& r) {
            return "Create{" + show(r.workspace_name) + "," + show(r.workspace_pin) + "," +
                   show(r.workspace_avatar) + "," + show(r.attendee_name) + "," +
                   show(r.attendee_avatar) + "}";
          },
          [](const core::AttendReq& r) {
            return "Attend{" + show(r.pin) + "," + show(r.attendee_name) + "," +
                   show(r.attendee_avatar) + "}";
          },
          [](const core::ReAttendReq&) { return "ReAttend{}"s; },
          [](const core::LeaveReq&) { return "Leave{}"s; },
          [](const core::DestroyReq&) { return "Destroy{}"s; },
          [](const core::KickReq& r) { return "Kick{" + r.target.value + "}"; },
          [](const core::RingReq& r) {
            return "Ring{" + r.callee.value + "," + show(r.offer) + "," + show(r.call) + "}";
          },
          [](const core::AnswerReq& r) {
            return "Answer{" + r.caller.value + "," + show(r.answer) + "," + r.call.value + "}";
          },
          [](const core::BusyReq& r) { return "Busy{" + r.call.value + "}"; },
          [](const core::HangupReq& r) { return "Hangup{" + show(r.call) + "}"; },
          [](const core::IceCandidateReq& r) {
            return "IceCandidate{" + r.target.value + "," + show(r.candidate) + "}";
          },
          [](const core::NegotiationReq& r) {
            return "Negotiation{" + r.target.value + "," + show(r.message) + "}";
          },
          [](const core::ToggleReq& r) { return "Toggle{"s + (r.state ? "true" : "false") + "}"; },
          [](const core::AttendeesReq&) { return "Attendees{}"s; },
          [](const core::RefreshReq&) { return "Refresh{}"s; },
      },
      payload);
}

// ---------------- frame level ----------------

TEST(ParseFrame, RejectsBadFramesBeforeAnythingElse) {
  struct Case {
    std::string name;
    std::string input;
    ErrorCode code;
    std::string field;       // Error::field
    std::string event_name;  // Request::event_name
    std::string id = "null";
    std::string nonce = "null";
  };
  const ErrorCode kBad = ErrorCode::kBadRequest;
  const ErrorCode kUnknown = ErrorCode::kUnknownEvent;
  const Case cases[] = {
      // not JSON
      {"empty text", "", kBad, "", ""},
      {"whitespace only", "  \n", kBad, "", ""},
      {"cut object", R"({"event":"leave")", kBad, "", ""},
      {"bare word", "hello", kBad, "", ""},
      {"trailing data", R"({"event":"leave"} {})", kBad, "", ""},
      {"comment", R"({"event":"leave"} // hi)", kBad, "", ""},
      {"trailing comma", R"({"event":"leave",})", kBad, "", ""},
      {"single quotes", R"({'event':'leave'})", kBad, "", ""},
      {"nesting deeper than 32", frame("negotiation", repeat("[", 40) + repeat("]", 40)), kBad, "",
       ""},
      {"number out of range", frame("ring", R"({"callee":{"id":"_b"},"offer":[1e400]})"), kBad, "",
       ""},
      // invalid UTF-8 inside JSON strings: Boost.JSON refuses it at parse
      {"utf-8 cut sequence", frame("leave", "{\"nonce\":\"a\xC3\"}"), kBad, "", ""},
      {"utf-8 overlong", frame("leave", "{\"nonce\":\"\xC0\xAF\"}"), kBad, "", ""},
      {"utf-8 encoded surrogate", frame("leave", "{\"nonce\":\"\xED\xA0\x80\"}"), kBad, "", ""},
      {"utf-8 byte FF", frame("create", "{\"attendee\":{\"name\":\"\xFF\"}}"), kBad, "", ""},
      {"utf-8 in a key",
       "{\"ev\xFF"
       "ent\":\"leave\"}",
       kBad, "", ""},
      {"utf-8 in the event", "{\"event\":\"lea\xC3\"}", kBad, "", ""},
      {"escaped lone high surrogate", frame("leave", R"({"nonce":"\ud800"})"), kBad, "", ""},
      {"escaped lone low surrogate", frame("leave", R"({"nonce":"\udc00x"})"), kBad, "", ""},
      // not an object
      {"top-level array", R"(["leave",{}])", kBad, "", ""},
      {"top-level string", R"("leave")", kBad, "", ""},
      {"top-level number", "7", kBad, "", ""},
      {"top-level null", "null", kBad, "", ""},
      {"top-level true", "true", kBad, "", ""},
      // event
      {"event missing", R"({"data":{}})", kBad, "event", ""},
      {"event number", R"({"event":7})", kBad, "event", ""},
      {"event null", R"({"event":null})", kBad, "event", ""},
      {"event object", R"({"event":{"name":"leave"}})", kBad, "event", ""},
      {"event array", R"({"event":["leave"]})", kBad, "event", ""},
      {"event missing keeps id and nonce", R"({"id":3,"data":{"nonce":"n"}})", kBad, "event", "",
       "3", R"("n")"},
      {"unknown event", R"({"event":"nope"})", kUnknown, "", "nope"},
      {"empty event", R"({"event":""})", kUnknown, "", ""},
      {"unknown event keeps id and nonce", R"({"event":"nope","id":7,"data":{"nonce":"n1"}})",
       kUnknown, "", "nope", "7", R"("n1")"},
      {"unknown event keeps a string id", R"({"event":"nope","id":"r-1"})", kUnknown, "", "nope",
       R"("r-1")"},
      {"event names are case-sensitive", R"({"event":"Attend"})", kUnknown, "", "Attend"},
      {"a server event is no request", R"({"event":"created"})", kUnknown, "", "created"},
      {"a long unknown event is cut to 64 characters", R"({"event":")" + repeat(kE, 100) + R"("})",
       kUnknown, "", repeat(kE, 64)},
      {"unknown event with non-object data", R"({"event":"nope","data":[1]})", kUnknown, "",
       "nope"},
      // id
      {"id fraction", R"({"event":"leave","id":7.5})", kBad, "id", "leave"},
      {"id integral float", R"({"event":"leave","id":7.0})", kBad, "id", "leave"},
      {"id exponent", R"({"event":"leave","id":1e3})", kBad, "id", "leave"},
      {"id beyond int64", R"({"event":"leave","id":9223372036854775808})", kBad, "id", "leave"},
      {"id object", R"({"event":"leave","id":{}})", kBad, "id", "leave"},
      {"id array", R"({"event":"leave","id":[1]})", kBad, "id", "leave"},
      {"id boolean", R"({"event":"leave","id":true})", kBad, "id", "leave"},
      {"id string of 65", R"({"event":"leave","id":")" + repeat("a", 65) + R"("})", kBad, "id",
       "leave"},
      {"id string of 65 multi-byte", R"({"event":"leave","id":")" + repeat(kE, 65) + R"("})", kBad,
       "id", "leave"},
      {"bad id comes before an unknown event", R"({"event":"nope","id":1.5})", kBad, "id", "nope"},
      {"bad id keeps the nonce", R"({"event":"leave","id":[],"data":{"nonce":4}})", kBad, "id",
       "leave", "null", "4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(c.input);
    ASSERT_TRUE(req.frame_error.has_value());
    EXPECT_EQ(req.frame_error->code, c.code);
    EXPECT_EQ(req.frame_error->field, c.field);
    EXPECT_FALSE(req.frame_error->message.empty());
    EXPECT_FALSE(req.event.has_value());
    EXPECT_EQ(req.event_name, c.event_name);
    EXPECT_EQ(json::serialize(req.id), c.id);
    EXPECT_EQ(json::serialize(req.nonce), c.nonce);
  }
}

TEST(ParseFrame, AcceptsIntegerAndShortStringIds) {
  struct Case {
    std::string name;
    std::string id;  // JSON text of `id`, empty: no `id` member
    std::string want;
  };
  const Case cases[] = {
      {"absent", "", "null"},
      {"null is absent", "null", "null"},
      {"zero", "0", "0"},
      {"positive", "7", "7"},
      {"negative", "-1", "-1"},
      {"int64 max", "9223372036854775807", "9223372036854775807"},
      {"int64 min", "-9223372036854775808", "-9223372036854775808"},
      {"string", R"("r-1")", R"("r-1")"},
      {"empty string", R"("")", R"("")"},
      {"string of 64", '"' + repeat("a", 64) + '"', '"' + repeat("a", 64) + '"'},
      {"string of 64 multi-byte", '"' + repeat(kE, 64) + '"', '"' + repeat(kE, 64) + '"'},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string id = c.id.empty() ? "" : R"(,"id":)" + c.id;
    const core::Request req = parse(R"({"event":"leave")" + id + "}");
    EXPECT_EQ(outcome(req), "ok");
    EXPECT_EQ(req.event, ClientEvent::kLeave);
    EXPECT_EQ(req.event_name, "leave");
    EXPECT_EQ(json::serialize(req.id), c.want);
  }
}

TEST(ParseFrame, DataMustBeAnObjectButTokenChecksComeFirst) {
  struct Case {
    std::string name;
    std::string input;
    std::string want;  // outcome()
  };
  const Case cases[] = {
      {"absent is {}", R"({"event":"leave"})", "ok"},
      {"null is {}", R"({"event":"leave","data":null})", "ok"},
      {"empty object", R"({"event":"leave","data":{}})", "ok"},
      {"array", R"({"event":"leave","data":[{"accessToken":"t"}]})", "bad_request data"},
      {"string", R"({"event":"leave","data":"t"})", "bad_request data"},
      {"number", R"({"event":"leave","data":1})", "bad_request data"},
      {"boolean", R"({"event":"create","data":true})", "bad_request data"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(c.input);
    EXPECT_EQ(outcome(req), c.want);
    // A non-object `data` holds no token: the Engine answers token_missing first.
    EXPECT_FALSE(req.access_token.has_value());
    EXPECT_FALSE(req.access_token_invalid_type);
    EXPECT_TRUE(req.nonce.is_null());
  }
}

// ---------------- nonce and tokens ----------------

TEST(ParseNonce, KeepsShortStringsAndIntegersAndRejectsTheRest) {
  struct Case {
    std::string name;
    std::string nonce;  // JSON text, empty: absent
    std::string want_nonce;
    std::string want;  // outcome()
  };
  const Case cases[] = {
      {"absent", "", "null", "ok"},
      {"null is absent", "null", "null", "ok"},
      {"string", R"("n-1")", R"("n-1")", "ok"},
      {"empty string", R"("")", R"("")", "ok"},
      {"integer", "42", "42", "ok"},
      {"negative integer", "-5", "-5", "ok"},
      {"string of 64", '"' + repeat("n", 64) + '"', '"' + repeat("n", 64) + '"', "ok"},
      {"string of 64 multi-byte", '"' + repeat(kSmile, 64) + '"', '"' + repeat(kSmile, 64) + '"',
       "ok"},
      {"string of 65", '"' + repeat("n", 65) + '"', "null", "bad_request nonce"},
      {"string of 65 multi-byte", '"' + repeat(kE, 65) + '"', "null", "bad_request nonce"},
      {"fraction", "1.5", "null", "bad_request nonce"},
      {"beyond int64", "18446744073709551615", "null", "bad_request nonce"},
      {"boolean", "true", "null", "bad_request nonce"},
      {"object", "{}", "null", "bad_request nonce"},
      {"array", "[1]", "null", "bad_request nonce"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string data = c.nonce.empty() ? "{}" : R"({"nonce":)" + c.nonce + "}";
    const core::Request req = parse(frame("attendees", data));
    EXPECT_EQ(outcome(req), c.want);
    EXPECT_EQ(json::serialize(req.nonce), c.want_nonce);
  }
}

TEST(ParseNonce, BadNonceIsReportedBeforeFieldErrors) {
  const core::Request req = parse(frame("ring", R"({"nonce":{},"callee":5})"));
  EXPECT_EQ(outcome(req), "bad_request nonce");
}

TEST(ParseTokens, ReadsAccessTokenAsAbsentStringOrInvalid) {
  struct Case {
    std::string name;
    std::string input;
    std::optional<std::string> want;
    bool want_invalid;
  };
  const Case cases[] = {
      {"absent", frame("leave", "{}"), std::nullopt, false},
      {"null is absent", frame("leave", R"({"accessToken":null})"), std::nullopt, false},
      {"string", frame("leave", R"({"accessToken":"eyJ.x.y"})"), "eyJ.x.y", false},
      {"empty string is present", frame("leave", R"({"accessToken":""})"), "", false},
      {"number", frame("leave", R"({"accessToken":7})"), std::nullopt, true},
      {"boolean", frame("leave", R"({"accessToken":false})"), std::nullopt, true},
      {"object", frame("leave", R"({"accessToken":{"jwt":"x"}})"), std::nullopt, true},
      {"array", frame("leave", R"({"accessToken":["x"]})"), std::nullopt, true},
      {"read despite field errors", frame("kick", R"({"accessToken":"t","attendee":5})"), "t",
       false},
      {"read for create too", frame("create", R"({"accessToken":"t"})"), "t", false},
      {"data array holds none", R"({"event":"leave","data":["t"]})", std::nullopt, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(c.input);
    EXPECT_EQ(req.access_token, c.want);
    EXPECT_EQ(req.access_token_invalid_type, c.want_invalid);
    EXPECT_FALSE(req.invite_token.has_value());
  }
}

TEST(ParseTokens, ReadsTheInviteOfAttendOnly) {
  struct Case {
    std::string name;
    std::string input;
    std::optional<std::string> want;
    bool want_invalid;
    std::string want_outcome;
  };
  const Case cases[] = {
      {"string", frame("attend", R"({"workspace":{"token":"inv"}})"), "inv", false, "ok"},
      {"token absent", frame("attend", R"({"workspace":{}})"), std::nullopt, false, "ok"},
      {"token null", frame("attend", R"({"workspace":{"token":null}})"), std::nullopt, false, "ok"},
      {"token number", frame("attend", R"({"workspace":{"token":5}})"), std::nullopt, true, "ok"},
      {"token object", frame("attend", R"({"workspace":{"token":{}}})"), std::nullopt, true, "ok"},
      {"workspace absent", frame("attend", "{}"), std::nullopt, false, "bad_request workspace"},
      {"workspace not an object", frame("attend", R"({"workspace":"inv"})"), std::nullopt, false,
       "bad_request workspace"},
      {"not read for create", frame("create", R"({"workspace":{"token":"inv"}})"), std::nullopt,
       false, "ok"},
      {"not an access token", frame("attend", R"({"accessToken":"inv"})"), std::nullopt, false,
       "bad_request workspace"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(c.input);
    EXPECT_EQ(req.invite_token, c.want);
    EXPECT_EQ(req.invite_token_invalid_type, c.want_invalid);
    EXPECT_EQ(outcome(req), c.want_outcome);
  }
}

// ---------------- payloads ----------------

TEST(ParsePayload, AcceptsMinimalAndFullPayloadOfEveryEvent) {
  struct Case {
    std::string name;
    std::string event;
    std::string data;
    ClientEvent want_event;
    std::string want;  // describe()
  };
  const std::string offer = R"({"type":"offer","sdp":"v=0\r\n"})";
  const std::string candidate = R"({"candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host",)"
                                R"("sdpMid":"0","sdpMLineIndex":0})";
  const Case cases[] = {
      {"iceservers minimal", "iceservers", "{}", ClientEvent::kIceServers, "IceServers{}"},
      {"iceservers full", "iceservers", R"({"accessToken":"t","nonce":1})",
       ClientEvent::kIceServers, "IceServers{}"},
      {"create minimal", "create", "{}", ClientEvent::kCreate, "Create{-,-,-,-,-}"},
      {"create empty objects", "create", R"({"workspace":{},"attendee":{}})", ClientEvent::kCreate,
       "Create{-,-,-,-,-}"},
      {"create full", "create",
       R"({"workspace":{"name":"Standup","pin":"1234","avatar":"https://a/w.png"},)"
       R"("attendee":{"name":"Ana","avatar":"data:image/png;base64,AA=="},"nonce":"c1"})",
       ClientEvent::kCreate, "Create{Standup,1234,https://a/w.png,Ana,data:image/png;base64,AA==}"},
      {"create empty strings take defaults", "create",
       R"({"workspace":{"name":"","pin":"","avatar":""},"attendee":{"name":"","avatar":""}})",
       ClientEvent::kCreate, "Create{-,-,-,-,-}"},
      {"create ignores client ids", "create",
       R"({"workspace":{"id":"_mine"},"attendee":{"id":"_me"},"owner":true})", ClientEvent::kCreate,
       "Create{-,-,-,-,-}"},
      {"attend minimal", "attend", R"({"workspace":{"token":"inv"}})", ClientEvent::kAttend,
       "Attend{-,-,-}"},
      {"attend full", "attend",
       R"({"workspace":{"token":"inv","pin":"0000","name":"ignored"},)"
       R"("attendee":{"name":"Bo","avatar":"b.png"},"nonce":2})",
       ClientEvent::kAttend, "Attend{0000,Bo,b.png}"},
      {"re-attend", "re-attend", R"({"accessToken":"t","nonce":"r"})", ClientEvent::kReAttend,
       "ReAttend{}"},
      {"leave", "leave", R"({"accessToken":"t"})", ClientEvent::kLeave, "Leave{}"},
      {"destroy", "destroy", R"({"accessToken":"t"})", ClientEvent::kDestroy, "Destroy{}"},
      {"kick", "kick", R"({"accessToken":"t","attendee":{"id":"_a"}})", ClientEvent::kKick,
       "Kick{_a}"},
      {"ring minimal", "ring", R"({"callee":{"id":"_b"},"offer":)" + offer + "}",
       ClientEvent::kRing, "Ring{_b," + offer + ",-}"},
      {"ring full", "ring",
       R"({"accessToken":"t","callee":{"id":"_b"},"offer":)" + offer +
           R"(,"call":{"id":"_c"},"nonce":"n"})",
       ClientEvent::kRing, "Ring{_b," + offer + ",_c}"},
      {"ring with a call object without id", "ring",
       R"({"callee":{"id":"_b"},"offer":"x","call":{}})", ClientEvent::kRing, R"(Ring{_b,"x",-})"},
      {"answer", "answer",
       R"({"caller":{"id":"_a"},"answer":{"type":"answer"},"call":{"id":"_c"}})",
       ClientEvent::kAnswer, R"(Answer{_a,{"type":"answer"},_c})"},
      {"busy", "busy", R"({"call":{"id":"_c"}})", ClientEvent::kBusy, "Busy{_c}"},
      {"hangup minimal", "hangup", "{}", ClientEvent::kHangup, "Hangup{-}"},
      {"hangup full", "hangup", R"({"call":{"id":"_c"}})", ClientEvent::kHangup, "Hangup{_c}"},
      {"icecandidate", "icecandidate", R"({"attendee":{"id":"_b"},"candidate":)" + candidate + "}",
       ClientEvent::kIceCandidate, "IceCandidate{_b," + candidate + "}"},
      {"negotiation", "negotiation", R"({"attendee":{"id":"_b"},"message":)" + offer + "}",
       ClientEvent::kNegotiation, "Negotiation{_b," + offer + "}"},
      {"mic-toggle on", "mic-toggle", R"({"state":true})", ClientEvent::kMicToggle, "Toggle{true}"},
      {"mic-toggle off", "mic-toggle", R"({"state":false})", ClientEvent::kMicToggle,
       "Toggle{false}"},
      {"cam-toggle", "cam-toggle", R"({"state":false})", ClientEvent::kCamToggle, "Toggle{false}"},
      {"attendees", "attendees", R"({"accessToken":"t"})", ClientEvent::kAttendees, "Attendees{}"},
      {"refresh", "refresh", R"({"accessToken":"t"})", ClientEvent::kRefresh, "Refresh{}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(frame(c.event, c.data));
    ASSERT_EQ(outcome(req), "ok");
    EXPECT_EQ(req.event, c.want_event);
    EXPECT_EQ(req.event_name, c.event);
    EXPECT_EQ(describe(*req.payload), c.want);
  }
}

/// How a field is checked, from PROTOCOL.md §2 and §4.
enum class Kind { kName, kPin, kAvatar, kId, kFlag, kOpaque };

/// One value to try in a field: accepted ("ok") or rejected with `want` on that field.
struct Probe {
  std::string label;
  json::value value;
  std::string want;  // "ok", "bad_request" or "too_large"
};

std::vector<Probe> probes(Kind kind) {
  const std::string bad = "bad_request";
  const std::string big = "too_large";
  std::vector<Probe> out;
  const auto wrong_types = [&] {
    for (const auto& [label, value] :
         std::vector<std::pair<std::string, json::value>>{{"number", 5},
                                                          {"fraction", 1.5},
                                                          {"boolean", true},
                                                          {"object", json::object{}},
                                                          {"array", json::array{"x"}}})
      out.push_back({label, value, bad});
  };
  switch (kind) {
    case Kind::kName:
    case Kind::kPin:
      wrong_types();
      out.push_back({"64 ascii", json::string(repeat("a", 64)), "ok"});
      out.push_back({"65 ascii", json::string(repeat("a", 65)), big});
      out.push_back({"64 two-byte", json::string(repeat(kE, 64)), "ok"});
      out.push_back({"65 two-byte", json::string(repeat(kE, 65)), big});
      out.push_back({"64 four-byte", json::string(repeat(kSmile, 64)), "ok"});
      out.push_back({"65 four-byte", json::string(repeat(kSmile, 65)), big});
      out.push_back({"empty", json::string(), "ok"});
      for (const auto& [label, text] :
           std::vector<std::pair<std::string, std::string>>{{"nul", "a\0b"s},
                                                            {"tab", "a\tb"},
                                                            {"newline", "a\n"},
                                                            {"U+001F", "\x1F"},
                                                            {"U+007F", "\x7F"},
                                                            {"U+0085", "\xC2\x85"}})
        out.push_back({"control " + label, json::string(text), kind == Kind::kName ? bad : "ok"});
      for (const auto& [label, text] :
           std::vector<std::pair<std::string, std::string>>{{"RLO U+202E",
                                                             "a\xE2\x80\xAE"
                                                             "b"},
                                                            {"LRE U+202A", "\xE2\x80\xAA"},
                                                            {"LRI U+2066", "\xE2\x81\xA6"},
                                                            {"PDI U+2069", "\xE2\x81\xA9"}})
        out.push_back({"bidi " + label, json::string(text), kind == Kind::kName ? bad : "ok"});
      out.push_back({"right-to-left mark U+200F", json::string("\xE2\x80\x8F"), "ok"});
      break;
    case Kind::kAvatar:
      wrong_types();
      out.push_back({"16384 bytes", json::string(repeat("a", 16384)), "ok"});
      out.push_back({"16385 bytes", json::string(repeat("a", 16385)), big});
      out.push_back({"16384 bytes of two-byte", json::string(repeat(kE, 8192)), "ok"});
      out.push_back({"16386 bytes of two-byte", json::string(repeat(kE, 8193)), big});
      out.push_back({"empty", json::string(), "ok"});
      break;
    case Kind::kId:
      wrong_types();
      out.push_back({"64 ascii", json::string(repeat("a", 64)), "ok"});
      out.push_back({"65 ascii", json::string(repeat("a", 65)), bad});
      out.push_back({"64 two-byte", json::string(repeat(kE, 64)), "ok"});
      out.push_back({"65 two-byte", json::string(repeat(kE, 65)), bad});
      out.push_back({"empty", json::string(), bad});
      break;
    case Kind::kFlag:
      out.push_back({"true", true, "ok"});
      out.push_back({"false", false, "ok"});
      out.push_back({"string", "true", bad});
      out.push_back({"number", 1, bad});
      out.push_back({"object", json::object{}, bad});
      out.push_back({"array", json::array{true}, bad});
      break;
    case Kind::kOpaque:
      out.push_back({"string", "v=0", "ok"});
      out.push_back({"number", 12345, "ok"});
      out.push_back({"false", false, "ok"});
      out.push_back({"object", json::object{{"type", "offer"}, {"n", json::array{1, 2}}}, "ok"});
      out.push_back({"array", json::array{"cand", 7}, "ok"});
      break;
  }
  return out;
}

/// Sets the member at a dotted path of `data` (creating parents), or removes it when
/// `value` is nullptr.
void put(json::object& data, std::string_view path, const json::value* value) {
  const std::size_t dot = path.find('.');
  if (dot == std::string_view::npos) {
    if (value)
      data[path] = *value;
    else
      data.erase(path);
    return;
  }
  json::value& parent = data[path.substr(0, dot)];
  if (!parent.is_object()) parent = json::object{};
  put(parent.as_object(), path.substr(dot + 1), value);
}

TEST(ParsePayload, ChecksTypeAndLimitOfEveryField) {
  struct Spec {
    std::string_view event;
    std::string_view path;
    Kind kind;
    bool required;
    std::string_view base;  // a valid data object (holding every required field)
    bool parent_required = false;
  };
  const Spec specs[] = {
      {"create", "workspace.name", Kind::kName, false, "{}"},
      {"create", "workspace.pin", Kind::kPin, false, "{}"},
      {"create", "workspace.avatar", Kind::kAvatar, false, "{}"},
      {"create", "attendee.name", Kind::kName, false, "{}"},
      {"create", "attendee.avatar", Kind::kAvatar, false, "{}"},
      {"attend", "workspace.pin", Kind::kPin, false, R"({"workspace":{"token":"i"}})", true},
      {"attend", "attendee.name", Kind::kName, false, R"({"workspace":{"token":"i"}})"},
      {"attend", "attendee.avatar", Kind::kAvatar, false, R"({"workspace":{"token":"i"}})"},
      {"kick", "attendee.id", Kind::kId, true, R"({"attendee":{"id":"_a"}})"},
      {"ring", "callee.id", Kind::kId, true, R"({"callee":{"id":"_b"},"offer":{}})"},
      {"ring", "offer", Kind::kOpaque, true, R"({"callee":{"id":"_b"},"offer":{}})"},
      {"ring", "call.id", Kind::kId, false, R"({"callee":{"id":"_b"},"offer":{}})"},
      {"answer", "caller.id", Kind::kId, true,
       R"({"caller":{"id":"_a"},"answer":{},"call":{"id":"_c"}})"},
      {"answer", "answer", Kind::kOpaque, true,
       R"({"caller":{"id":"_a"},"answer":{},"call":{"id":"_c"}})"},
      {"answer", "call.id", Kind::kId, true,
       R"({"caller":{"id":"_a"},"answer":{},"call":{"id":"_c"}})"},
      {"busy", "call.id", Kind::kId, true, R"({"call":{"id":"_c"}})"},
      {"hangup", "call.id", Kind::kId, false, "{}"},
      {"icecandidate", "attendee.id", Kind::kId, true,
       R"({"attendee":{"id":"_b"},"candidate":{}})"},
      {"icecandidate", "candidate", Kind::kOpaque, true,
       R"({"attendee":{"id":"_b"},"candidate":{}})"},
      {"negotiation", "attendee.id", Kind::kId, true, R"({"attendee":{"id":"_b"},"message":{}})"},
      {"negotiation", "message", Kind::kOpaque, true, R"({"attendee":{"id":"_b"},"message":{}})"},
      {"mic-toggle", "state", Kind::kFlag, true, R"({"state":true})"},
      {"cam-toggle", "state", Kind::kFlag, true, R"({"state":true})"},
  };
  for (const Spec& spec : specs) {
    const json::object base = json::parse(spec.base).as_object();
    const std::string path(spec.path);
    const auto run = [&](const std::string& label, const json::object& data,
                         const std::string& want) {
      SCOPED_TRACE(std::string(spec.event) + " " + path + ": " + label);
      const core::Request req = parse(frame(spec.event, json::serialize(data)));
      EXPECT_EQ(outcome(req), want);
      return req;
    };
    const std::string missing = spec.required ? "bad_request " + path : "ok";

    for (const Probe& probe : probes(spec.kind)) {
      json::object data = base;
      put(data, path, &probe.value);
      const core::Request req =
          run(probe.label, data, probe.want == "ok" ? "ok" : probe.want + " " + path);
      // An accepted value lands in the payload (empty strings count as absent).
      const json::string* text = probe.value.if_string();
      if (req.payload && !(text && text->empty())) {
        const std::string shown = text ? std::string(*text) : json::serialize(probe.value);
        EXPECT_NE(describe(*req.payload).find(shown), std::string::npos);
      }
    }
    json::object data = base;
    put(data, path, nullptr);
    run("missing", data, missing);
    const json::value null;
    data = base;
    put(data, path, &null);
    run("null", data, missing);

    const std::size_t dot = path.find('.');
    if (dot == std::string::npos) continue;
    const std::string parent = path.substr(0, dot);
    for (const json::value& wrong :
         {json::value("x"), json::value(json::array{}), json::value(3)}) {
      data = base;
      data[parent] = wrong;
      run("parent " + json::serialize(wrong), data, "bad_request " + parent);
    }
    data = base;
    data[parent] = json::object{};
    run("parent empty", data, missing);
    data = base;
    data.erase(parent);
    run("parent missing", data, spec.parent_required ? "bad_request " + parent : missing);
    data[parent] = nullptr;
    run("parent null", data, spec.parent_required ? "bad_request " + parent : missing);
  }
}

TEST(ParsePayload, ReportsTheFirstFailingFieldInOrder) {
  struct Case {
    std::string name;
    std::string event;
    std::string data;
    std::string want;  // outcome()
  };
  const Case cases[] = {
      {"callee before offer", "ring", R"({"callee":{"id":5}})", "bad_request callee.id"},
      {"container before its fields", "ring", R"({"callee":5})", "bad_request callee"},
      {"offer before call", "ring", R"({"callee":{"id":"_b"},"call":{"id":""}})",
       "bad_request offer"},
      {"name before pin", "create", R"({"workspace":{"name":5,"pin":5}})",
       "bad_request workspace.name"},
      {"workspace before attendee", "create", R"({"attendee":7,"workspace":{"avatar":5}})",
       "bad_request workspace.avatar"},
      {"attend workspace before attendee", "attend", R"({"attendee":{"name":5}})",
       "bad_request workspace"},
      {"caller, answer, call", "answer", R"({"caller":{"id":"_a"}})", "bad_request answer"},
      {"target before candidate", "icecandidate", "{}", "bad_request attendee.id"},
      {"target before message", "negotiation", R"({"message":null})", "bad_request attendee.id"},
      {"unknown fields are ignored", "busy", R"({"call":{"id":"_c","x":[]},"extra":{"y":1}})",
       "ok"},
      {"duplicate keys: the last wins", "mic-toggle", R"({"state":"on","state":true})", "ok"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(outcome(parse(frame(c.event, c.data))), c.want);
  }
}

TEST(ParsePayload, MessagesNameTheFieldAndItsLimitWithoutEchoingInput) {
  struct Case {
    std::string name;
    std::string event;
    std::string data;
    std::string want;  // Error::message
  };
  const std::string huge = repeat("Z", 5000);
  const Case cases[] = {
      {"name over the limit", "create", R"({"workspace":{"name":")" + huge + R"("}})",
       "workspace.name must be a string of at most 64 characters"},
      {"name of the wrong type", "create", R"({"attendee":{"name":[1]}})",
       "attendee.name must be a string of at most 64 characters"},
      {"name with a control character", "create", R"({"attendee":{"name":"a\nb"}})",
       "attendee.name must not contain control characters"},
      {"name with a bidi override", "create",
       "{\"workspace\":{\"name\":\"a\xE2\x80\xAE"
       "b\"}}",
       "workspace.name must not contain bidirectional override or isolate characters "
       "(U+202A-U+202E, U+2066-U+2069)"},
      {"pin over the limit", "attend", R"({"workspace":{"pin":")" + huge + R"("}})",
       "workspace.pin must be a string of at most 64 characters"},
      {"avatar over the limit", "create",
       R"({"attendee":{"avatar":")" + huge + huge + huge + huge + R"("}})",
       "attendee.avatar must be a string of at most 16384 bytes"},
      {"id too long", "kick", R"({"attendee":{"id":")" + huge + R"("}})",
       "attendee.id must be a non-empty string of at most 64 characters"},
      {"id missing", "busy", "{}", "call.id is required"},
      {"parent of the wrong type", "ring", R"({"callee":")" + huge + R"("})",
       "callee must be an object"},
      {"state not a boolean", "cam-toggle", R"({"state":"ZZZ"})", "state must be a boolean"},
      {"opaque null", "negotiation", R"({"attendee":{"id":"_b"},"message":null})",
       "message is required"},
      {"data not an object", "leave", "[]", "data must be an object"},
      {"nonce", "leave", R"({"nonce":")" + huge + R"("})",
       "nonce must be an integer or a string of at most 64 characters"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse(frame(c.event, c.data));
    ASSERT_FALSE(req.payload.has_value());
    EXPECT_EQ(req.payload.error().message, c.want);
  }
}

TEST(ParseFrame, NeverEchoesLongInputInMessages) {
  const std::string huge = repeat("Z", 5000);
  for (const std::string& input :
       {R"({"event":")" + huge + R"("})", R"({"event":"leave","id":")" + huge + R"("})"}) {
    const core::Request req = parse(input);
    ASSERT_TRUE(req.frame_error.has_value());
    EXPECT_EQ(req.frame_error->message.find("ZZ"), std::string::npos);
    EXPECT_LE(req.event_name.size(), kMaxEventNameChars);
  }
}

}  // namespace
}  // namespace ws::proto
