// Engine tests of relayed signaling (PROTOCOL.md §4 icecandidate, negotiation): payload shapes,
// opaque values passed untouched, and nothing stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::IsEmpty;

struct RelayWorld {
  Harness h;
  Space s;
  Peer a, b;
  RelayWorld() {
    s = h.create();
    a = h.join(s, "Alice");
    b = h.join(s, "Bob");
  }
};

TEST(IceCandidate, ReachesOnlyTheTargetWithTheSenderAsAttendeeAndBroadcaster) {
  RelayWorld w;
  w.h.as(w.a, "icecandidate",
         R"({"attendee":{"id":")" + w.b.id +
             R"("},"candidate":{"candidate":"c1","sdpMid":"0"},"nonce":"i"})",
         3);
  const Msg m = w.h.only(w.b.conn);
  EXPECT_EQ(m.event, "icecandidate");
  EXPECT_TRUE(m.re.is_null());
  EXPECT_EQ(m.data, J(R"({"attendee":{"id":"$a"},"broadcaster":{"id":"$a"},
                          "candidate":{"candidate":"c1","sdpMid":"0"}})",
                      {{"$a", w.a.id}}));
  EXPECT_EQ(w.h.only(w.a.conn).data, J(R"({"event":"icecandidate","nonce":"i"})"));
  EXPECT_THAT(w.h.events(w.s.owner.conn), IsEmpty());
  EXPECT_FALSE(w.h.has("persist"));
}

TEST(Negotiation, ReachesOnlyTheTargetWithTheSenderBrief) {
  RelayWorld w;
  w.h.as(w.s.owner, "negotiation",
         R"({"attendee":{"id":")" + w.a.id + R"("},"message":{"type":"offer","sdp":"v=0"}})", 4);
  const Msg m = w.h.only(w.a.conn);
  EXPECT_EQ(m.event, "negotiation");
  EXPECT_EQ(m.data, J(R"({"attendee":{"id":"$o","name":"Olivia","avatar":""},
                          "message":{"type":"offer","sdp":"v=0"}})",
                      {{"$o", w.s.owner.id}}));
  EXPECT_EQ(w.h.only(w.s.owner.conn).data, J(R"({"event":"negotiation"})"));
  EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
  EXPECT_FALSE(w.h.has("persist"));
}

TEST(Relay, OpaqueValuesArePassedUntouched) {
  const std::vector<std::string> values = {R"("a string")",
                                           "12",
                                           "-3.5",
                                           "true",
                                           "[1,{\"x\":[]}]",
                                           R"({"nested":{"deep":[null]}})",
                                           R"("\u00e9\ud83d\ude00")"};
  RelayWorld w;
  for (const auto& v : values) {
    SCOPED_TRACE(v);
    w.h.as(w.a, "icecandidate", R"({"attendee":{"id":")" + w.b.id + R"("},"candidate":)" + v + "}");
    EXPECT_EQ(w.h.only(w.b.conn).at("candidate"), json::parse(v));
    w.h.as(w.a, "negotiation", R"({"attendee":{"id":")" + w.b.id + R"("},"message":)" + v + "}");
    EXPECT_EQ(w.h.only(w.b.conn).at("message"), json::parse(v));
  }
}

TEST(Relay, WithoutAnIdTheSenderGetsNothing) {
  RelayWorld w;
  for (const char* event : {"icecandidate", "negotiation"}) {
    SCOPED_TRACE(event);
    w.h.as(w.a, event,
           R"({"attendee":{"id":")" + w.b.id + R"("},"candidate":1,"message":1,"nonce":"x"})",
           nullptr);
    EXPECT_THAT(w.h.events(w.a.conn), IsEmpty());
    EXPECT_EQ(w.h.only(w.b.conn).event, event);
  }
}

}  // namespace
}  // namespace ws::core::test
