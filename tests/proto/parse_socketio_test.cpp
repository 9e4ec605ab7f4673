// Tests for proto::parse_socketio: the Socket.IO event packet decodes into the same Request as
// the equivalent native frame (PROTOCOL.md §7), and bad packets are frame-level bad requests.
#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "proto/parse.hpp"

namespace ws::proto {
namespace {

namespace json = boost::json;
using core::ErrorCode;

/// "ok", "frame <code> <message>" or "<code> <field>", for compact expectations.
std::string outcome(const core::Request& req) {
  if (req.frame_error)
    return "frame " + std::string(core::to_string(req.frame_error->code)) + " " +
           req.frame_error->message;
  if (!req.payload)
    return std::string(core::to_string(req.payload.error().code)) + " " + req.payload.error().field;
  return "ok";
}

TEST(ParseSocketIo, MatchesTheEquivalentNativeFrame) {
  struct Case {
    std::string name, packet, native;
  };
  const Case cases[] = {
      {"event without ack", R"(2["create",{"workspace":{"name":"W"}}])",
       R"({"event":"create","data":{"workspace":{"name":"W"}}})"},
      {"ack id becomes the id", R"(27["leave",{"accessToken":"t"}])",
       R"({"event":"leave","data":{"accessToken":"t"},"id":7})"},
      {"no data means {}", R"(2["attendees"])", R"({"event":"attendees"})"},
      {"null data means {}", R"(23["attendees",null])", R"({"event":"attendees","id":3})"},
      {"field error", R"(2["kick",{"accessToken":"t","attendee":{}}])",
       R"({"event":"kick","data":{"accessToken":"t","attendee":{}}})"},
      {"data not an object", R"(2["leave",[1]])", R"({"event":"leave","data":[1]})"},
      {"unknown event", R"(29["nope",{}])", R"({"event":"nope","data":{},"id":9})"},
      {"extra arguments ignored", R"(2["mic-toggle",{"state":true},"x",1])",
       R"({"event":"mic-toggle","data":{"state":true}})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request got = parse_socketio(c.packet);
    const core::Request want = parse(c.native);
    EXPECT_EQ(outcome(got), outcome(want));
    EXPECT_EQ(got.event, want.event);
    EXPECT_EQ(got.event_name, want.event_name);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.access_token, want.access_token);
  }
}

TEST(ParseSocketIo, InviteTokenAndNonceAreReadLikeNative) {
  const core::Request req =
      parse_socketio(R"(21["attend",{"workspace":{"token":"inv"},"nonce":"n"}])");
  EXPECT_EQ(outcome(req), "ok");
  EXPECT_EQ(req.invite_token, std::optional<std::string>("inv"));
  EXPECT_EQ(req.nonce, json::value("n"));
  EXPECT_EQ(req.id, json::value(1));
}

TEST(ParseSocketIo, BadPacketsAreFrameLevelBadRequests) {
  struct Case {
    std::string name, packet;
    bool keeps_ack_id;
  };
  const Case cases[] = {
      {"not an event packet", R"(3["x"])", false},
      {"empty", "", false},
      {"bad JSON", "2[bad", false},
      {"bad JSON with ack id", "25[bad", true},
      {"not an array", R"(25{"event":"x"})", true},
      {"empty array", "25[]", true},
      {"event name not a string", "25[1,{}]", true},
      {"trailing garbage", R"(2["leave",{}]x)", false},
      {"ack id too long", R"(21234567890123456["leave",{}])", false},
      {"number out of range", R"(2["leave",{"x":1e999}])", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Request req = parse_socketio(c.packet);
    ASSERT_TRUE(req.frame_error.has_value());
    EXPECT_EQ(req.frame_error->code, ErrorCode::kBadRequest);
    EXPECT_FALSE(req.event.has_value());
    EXPECT_EQ(!req.id.is_null(), c.keeps_ack_id);
  }
}

TEST(ParseSocketIo, LongestAckIdIsKept) {
  const core::Request req = parse_socketio(R"(2999999999999999["attendees",{}])");
  EXPECT_EQ(req.id, json::value(999999999999999));
}

}  // namespace
}  // namespace ws::proto
