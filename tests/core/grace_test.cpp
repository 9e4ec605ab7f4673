// Engine tests of disconnects and resume (PROTOCOL.md §4.2: reconnect grace, silent re-attend,
// replaced connections) and of workspace capacity (§4 attend/re-attend, close 4001).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// ---------------- grace ----------------

TEST(Grace, DisconnectKeepsTheMemberOfflineAndTellsNobody) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.drop(a.conn);
  EXPECT_THAT(h.trace(), ElementsAre("arm 1"));
  EXPECT_EQ(h.armed().at(1), h.now() + 30s);
  EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
  EXPECT_THAT(h.events(b.conn), IsEmpty());
  h.as(b, "attendees");
  EXPECT_EQ(at(h.only(b.conn).at("attendees"), a.id),
            J(R"({"id":"$a","name":"Alice","avatar":"","mic":true,"cam":true,"online":false})",
              {{"$a", a.id}}));
  const EngineStats st = h.engine().stats();
  EXPECT_EQ(st.attendees, 3u);
  EXPECT_EQ(st.online_attendees, 2u);
  EXPECT_EQ(st.connections, 2u);
}

TEST(Grace, MessagesToAnOfflineMemberAreDroppedButTheSenderGetsOk) {
  struct Case {
    std::string event, data;
  };
  const std::vector<Case> cases = {
      {"icecandidate", R"({"attendee":{"id":"$a"},"candidate":{"c":1}})"},
      {"negotiation", R"({"attendee":{"id":"$a"},"message":{"m":1}})"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.event);
    Harness h;
    const Space s = h.create();
    const Peer a = h.join(s, "Alice");
    h.drop(a.conn);
    h.as(s.owner, tc.event, expand(tc.data, {{"$a", a.id}}), 3);
    EXPECT_EQ(h.only(s.owner.conn).event, "ok");
    EXPECT_EQ(h.only(s.owner.conn).data, J(R"({"event":"$e"})", {{"$e", tc.event}}));
    EXPECT_EQ(h.effects().size(), 1u);
  }
}

TEST(Grace, ReAttendWithinGraceIsSilentForTheOthers) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.drop(a.conn);
  h.advance(30s - 1ms);
  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.only(back.conn).str("accessToken"), a.token);
  EXPECT_EQ(h.only(back.conn).at("attendee.online"), json::value(true));
  EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
  EXPECT_THAT(h.events(b.conn), IsEmpty());
  EXPECT_THAT(h.trace(), ElementsAre("cancel 1", "send 4 re-attendance-granted"));
  h.advance(1min);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.as(b, "attendees");
  EXPECT_EQ(at(h.only(b.conn).at("attendees"), a.id + ".online"), json::value(true));
  EXPECT_EQ(h.engine().stats().online_attendees, 3u);
}

TEST(Grace, AfterGraceTheOthersGetLeaveAndAReturnIsAnnounced) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.as(a, "cam-toggle", R"({"state":false})");
  h.drop(a.conn);
  h.advance(30s - 1ms);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.advance(1ms);
  const json::value gone = J(R"({"id":"$a","name":"Alice","avatar":""})", {{"$a", a.id}});
  for (const ConnId c : {s.owner.conn, b.conn}) {
    EXPECT_EQ(h.only(c).event, "leave");
    EXPECT_EQ(h.only(c).data, gone);
  }
  EXPECT_TRUE(h.has("persist"));
  EXPECT_EQ(h.store.at(s.id).former.at(0).id.value, a.id);
  EXPECT_EQ(h.engine().stats().attendees, 2u);

  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.only(back.conn).str("accessToken"), a.token);
  // A former member keeps only its name: it comes back with mic and cam on and the default
  // avatar (docs/protocol.md §11), whatever it had before (cam off here).
  const json::value returned =
      J(R"({"id":"$a","name":"Alice","avatar":"","mic":true,"cam":true,"online":true})",
        {{"$a", a.id}});
  for (const ConnId c : {s.owner.conn, b.conn}) {
    EXPECT_EQ(h.only(c).event, "attend");
    EXPECT_EQ(h.only(c).data, returned);
  }
  EXPECT_LT(h.position("persist"), h.position("send 4 re-attendance-granted"));
  EXPECT_TRUE(h.store.at(s.id).former.empty());
}

TEST(Grace, ZeroGraceRemovesAtOnce) {
  Harness h(options_with(5, 0s));
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.drop(a.conn);
  EXPECT_FALSE(h.has("arm"));
  EXPECT_EQ(h.only(s.owner.conn).event, "leave");
  EXPECT_EQ(h.engine().stats().attendees, 1u);
}

TEST(Grace, GracePeriodFollowsTheOption) {
  Harness h(options_with(5, 5s));
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(a.conn);
  h.advance(5s - 1ms);
  EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
  h.advance(1ms);
  EXPECT_EQ(h.only(s.owner.conn).event, "leave");
}

TEST(Grace, ANewerConnectionReplacesTheOlderOne) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  const Peer fresh = h.reattend(a);
  EXPECT_EQ(h.only(fresh.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.only(a.conn).event, "replaced");
  EXPECT_EQ(keys(h.only(a.conn).data), std::vector<std::string>{"reason"});
  EXPECT_TRUE(h.only(a.conn).at("reason").is_string());
  EXPECT_THAT(h.closes(a.conn), ElementsAre(4002));
  const std::string old = std::to_string(a.conn.value);
  EXPECT_LT(h.position("send " + old + " replaced"), h.position("close " + old + " 4002"));
  EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
  EXPECT_THAT(h.events(b.conn), IsEmpty());
  // The old connection is unbound: its requests are refused and its end changes nothing.
  h.as(a, "attendees");
  EXPECT_EQ(h.only(a.conn).str("code"), "forbidden");
  h.drop(a.conn);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.as(fresh, "attendees");
  EXPECT_EQ(at(h.only(fresh.conn).at("attendees"), a.id + ".online"), json::value(true));
  // The newest connection wins again.
  const Peer third = h.reattend(fresh);
  EXPECT_EQ(h.only(fresh.conn).event, "replaced");
  EXPECT_EQ(h.only(third.conn).event, "re-attendance-granted");
}

TEST(Grace, EveryDropStartsAFreshGracePeriod) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(a.conn);
  h.advance(20s);
  const Peer back = h.reattend(a);
  h.advance(5s);
  h.drop(back.conn);
  h.advance(30s - 1ms);  // 55 s after the first drop
  EXPECT_THAT(h.trace(), IsEmpty());
  h.advance(1ms);
  EXPECT_EQ(h.only(s.owner.conn).event, "leave");
}

TEST(Grace, AStaleGraceTimerIsIgnored) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(a.conn);
  const TimerId grace{h.armed().begin()->first};
  h.reattend(a);
  h.fire(grace);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.fire(TimerId{999});
  EXPECT_THAT(h.trace(), IsEmpty());
  EXPECT_EQ(h.engine().stats().online_attendees, 2u);
}

TEST(Grace, OwnerDroppingWithinGraceStaysOwner) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(s.owner.conn);
  h.advance(10s);
  const Peer back = h.reattend(s.owner);
  EXPECT_THAT(h.events(a.conn), IsEmpty());
  h.as(back, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  EXPECT_EQ(h.only(back.conn).event, "kicked");
}

TEST(Grace, UnboundOrUnknownConnectionsEndQuietly) {
  Harness h;
  const ConnId c = h.connect();
  h.drop(c);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.drop(c);  // twice
  h.drop(ConnId{12345});
  EXPECT_THAT(h.trace(), IsEmpty());
  h.request(c, "create");  // a frame after the end is ignored
  EXPECT_THAT(h.trace(), IsEmpty());
  EXPECT_EQ(h.engine().stats().connections, 0u);
}

// ---------------- capacity ----------------

TEST(Capacity, TheAttendBeyondCapacityGetsFullAndIsClosed) {
  for (const std::size_t n : {1u, 2u, 5u}) {
    SCOPED_TRACE(n);
    Harness h(options_with(n));
    const Space s = h.create();
    std::vector<Peer> in;
    for (std::size_t i = 1; i < n; ++i) in.push_back(h.join(s, "G" + std::to_string(i)));
    const ConnId c = h.connect();
    h.request(c, "attend", R"({"workspace":{"token":")" + s.invite + R"("},"nonce":"f"})", 5);
    const Msg m = h.only(c);
    EXPECT_EQ(m.event, "full");
    EXPECT_EQ(m.re, json::value(5));
    EXPECT_EQ(m.data, J(R"({"workspace":{"id":"$w"},"capacity":$n,"nonce":"f"})",
                        {{"$w", s.id}, {"$n", std::to_string(n)}}));
    EXPECT_THAT(h.closes(c), ElementsAre(4001));
    EXPECT_THAT(h.trace(), ElementsAre("send " + std::to_string(c.value) + " full",
                                       "close " + std::to_string(c.value) + " 4001"));
    EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
    EXPECT_EQ(h.engine().stats().attendees, n);
  }
}

TEST(Capacity, OfflineMembersWithinGraceCountUntilTheyExpire) {
  Harness h(options_with(3));
  const Space s = h.create();
  h.join(s, "A");
  const Peer b = h.join(s, "B");
  h.drop(b.conn);
  const ConnId c = h.connect();
  h.request(c, "attend", Harness::attend_data(s, "C"));
  EXPECT_EQ(h.only(c).event, "full");
  h.advance(30s);
  h.join(s, "C");
}

TEST(Capacity, SeatsFreedByLeaveOrKickAreTaken) {
  struct Case {
    std::string name;
    std::function<void(Harness&, const Space&, const Peer&)> free_seat;
  };
  const std::vector<Case> cases = {
      {"leave", [](Harness& h, const Space&, const Peer& p) { h.as(p, "leave"); }},
      {"kick",
       [](Harness& h, const Space& s, const Peer& p) {
         h.as(s.owner, "kick", R"({"attendee":{"id":")" + p.id + R"("}})");
       }},
      {"owner leaves", [](Harness& h, const Space& s, const Peer&) { h.as(s.owner, "leave"); }},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h(options_with(2));
    const Space s = h.create();
    const Peer a = h.join(s, "A");
    tc.free_seat(h, s, a);
    h.join(s, "B");
  }
}

TEST(Capacity, ReJoiningAfterRemovalIsSubjectToCapacity) {
  for (const auto& tc : former_member_cases()) {
    SCOPED_TRACE(tc.name);
    Harness h(options_with(2));
    const Space s = h.create();
    const Peer a = h.join(s, "A");
    tc.make_former(h, a);
    const Peer b = h.join(s, "B");
    const Peer back = h.reattend(a);
    EXPECT_EQ(h.only(back.conn).event, "full");
    EXPECT_EQ(h.only(back.conn).at("capacity"), json::value(2));
    EXPECT_THAT(h.closes(back.conn), ElementsAre(4001));
    EXPECT_THAT(h.events(b.conn), IsEmpty());
    EXPECT_FALSE(h.has("persist"));
    // Once a seat is free, the same token gets back in.
    h.as(b, "leave");
    const Peer again = h.reattend(a);
    EXPECT_EQ(h.only(again.conn).event, "re-attendance-granted");
  }
}

TEST(Capacity, ResumingWithinGraceNeedsNoSeat) {
  Harness h(options_with(2));
  const Space s = h.create();
  const Peer a = h.join(s, "A");
  h.drop(a.conn);
  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  const Peer again = h.reattend(back);  // replacing a live connection needs none either
  EXPECT_EQ(h.only(again.conn).event, "re-attendance-granted");
}

}  // namespace
}  // namespace ws::core::test
