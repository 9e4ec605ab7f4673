// Engine tests of former members (issue 16): they stay bounded whatever the churn. A former
// member keeps only its name, is forgotten once every token it could hold has expired, and past
// max_former the one who left first is forgotten (never the owner). Forgotten is revoked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<std::string> former_ids(Harness& h, const Space& s) {
  std::vector<std::string> out;
  for (const auto& f : h.store.at(s.id).former) out.push_back(f.id.value);
  return out;
}

EngineOptions with_max_former(std::size_t n) {
  EngineOptions o;
  o.max_former = n;
  o.max_capacity = 5;
  return o;
}

TEST(Former, KeepsTheNameAndTheTimeOfLeavingButNoAvatar) {
  Harness h;
  const Space s = h.create();
  const std::string avatar(16384, 'a');
  const ConnId c = h.connect();
  h.request(c, "attend",
            R"({"workspace":{"token":")" + s.invite +
                R"("},"attendee":{"name":"Alice","avatar":")" + avatar + R"("}})");
  const Peer a{c, h.last(c).str("attendee.id"), h.last(c).str("accessToken"), "Alice"};
  h.advance(7s);
  h.as(a, "leave");
  EXPECT_THAT(h.trace(), Contains("persist left " + s.id));
  const auto& former = h.store.at(s.id).former;
  ASSERT_EQ(former.size(), 1u);
  EXPECT_EQ(former[0], (FormerRecord{AttendeeId{a.id}, "Alice", h.now_ms()}));
}

TEST(Former, IsForgottenOnceItsTokensHaveExpiredAndItsTokenIsThenRefused) {
  EngineOptions o;
  o.access_token_ttl = std::chrono::hours(1);
  Harness h(o);
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(a, "leave");
  h.advance(std::chrono::hours(1) - 1ms);
  const Peer b = h.join(s, "Bob");
  h.as(b, "leave");  // prunes: Alice's last token is still valid for 1 ms
  EXPECT_THAT(former_ids(h, s), ElementsAre(a.id, b.id));
  h.advance(1ms);
  const Peer c = h.join(s, "Carl");
  h.as(c, "leave");
  EXPECT_THAT(h.trace(), Contains("persist forget " + s.id));
  EXPECT_THAT(former_ids(h, s), ElementsAre(b.id, c.id));
  // Her token expired at the same time, which is what a client sees first.
  EXPECT_EQ(h.only(h.reattend(a).conn).str("code"), "token_expired");
}

TEST(Former, PastMaxFormerTheOneWhoLeftFirstIsForgottenAndRevoked) {
  Harness h(with_max_former(3));
  const Space s = h.create();
  std::vector<Peer> left;
  for (int i = 0; i < 5; ++i) {
    left.push_back(h.join(s, "Guest " + std::to_string(i)));
    h.as(left.back(), "leave");
  }
  EXPECT_THAT(former_ids(h, s), ElementsAre(left[2].id, left[3].id, left[4].id));
  // Guest 0's token is still valid, but it is no longer known: revoked, like a kick.
  EXPECT_EQ(h.only(h.reattend(left[0]).conn).str("code"), "token_revoked");
  const Peer back = h.reattend(left[2]);
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  EXPECT_THAT(former_ids(h, s), ElementsAre(left[3].id, left[4].id));
}

TEST(Former, TheOwnerIsNeverForgottenForRoom) {
  Harness h(with_max_former(2));
  const Space s = h.create();
  h.as(s.owner, "leave");
  for (int i = 0; i < 4; ++i) h.as(h.join(s, "G" + std::to_string(i)), "leave");
  const auto ids = former_ids(h, s);
  // The owner left first, yet the guests who left after it are the ones forgotten.
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids.front(), s.owner.id);
  const Peer owner = h.reattend(s.owner);
  EXPECT_EQ(h.only(owner.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.only(owner.conn).at("workspace.owner"), json::value(s.owner.id));
}

TEST(Former, ReturningTakesTheDefaultAvatarAndMicAndCamOn) {
  EngineOptions o;
  o.default_attendee_avatar = "default.png";
  Harness h(o);
  const Space s = h.create();
  const ConnId c = h.connect();
  h.request(c, "attend",
            R"({"workspace":{"token":")" + s.invite +
                R"("},"attendee":{"name":"Alice","avatar":"mine.png"}})");
  const Peer a{c, h.last(c).str("attendee.id"), h.last(c).str("accessToken"), "Alice"};
  h.as(a, "mic-toggle", R"({"state":false})");
  h.as(a, "leave");
  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).at("attendee"),
            J(R"({"id":"$a","name":"Alice","avatar":"default.png","mic":true,"cam":true,
                  "online":true})",
              {{"$a", a.id}}));
}

TEST(Former, TenThousandCyclesWithTheLargestNamesAndAvatarsStayBounded) {
  EngineOptions o;         // max_former 1000 by default
  o.messages_burst = 1e9;  // the fake clock stands still: no refill
  Harness h(o);
  h.check_every_event = false;
  h.keep_visible_text = false;
  const Space s = h.create();
  const std::string name(64, 'n');
  const std::string avatar(16384, 'a');
  const ConnId c = h.connect();
  const std::string attend = R"({"workspace":{"token":")" + s.invite +
                             R"("},"attendee":{"name":")" + name + R"(","avatar":")" + avatar +
                             R"("}})";
  for (int i = 0; i < 10000; ++i) {
    h.request(c, "attend", attend);
    ASSERT_EQ(h.last(c).event, "attendance-granted");
    h.request_with(c, json::value(h.last(c).str("accessToken")), "leave");
    ASSERT_EQ(h.last(c).event, "left");
  }
  h.check_store();
  const WorkspaceRecord& r = h.store.at(s.id);
  EXPECT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.former.size(), 1000u);
  std::size_t bytes = 0;
  for (const auto& f : r.former) bytes += f.id.value.size() + f.name.size() + sizeof f;
  EXPECT_LT(bytes, 200u * 1024) << "what 1,000 former members hold";
}

TEST(Kick, OfAFormerMemberForgetsIt) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(a, "leave");
  h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  EXPECT_THAT(h.trace(), Contains("persist forget " + s.id));
  EXPECT_THAT(former_ids(h, s), IsEmpty());
  EXPECT_EQ(h.only(h.reattend(a).conn).str("code"), "token_revoked");
}

// ---- each change carries only what changed ----

/// The Persist changes of the last action.
std::vector<Change> changes(const Harness& h) {
  std::vector<Change> out;
  for (const auto& p : h.all_of<Persist>()) out.push_back(p.change);
  return out;
}

TEST(Changes, AToggleIsOneMemberToggledWithNoRecord) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(a, "cam-toggle", R"({"state":false})");
  EXPECT_THAT(changes(h),
              ElementsAre(Change{MemberToggled{WorkspaceId{s.id}, AttendeeId{a.id}, true, false}}));
}

TEST(Changes, AnAttendIsTheNewMemberAndALeaveItsFormerRecord) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const auto attend = changes(h);
  ASSERT_EQ(attend.size(), 1u);
  const auto* put = std::get_if<MemberPut>(&attend[0]);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->attendee.id.value, a.id);
  h.as(a, "leave");
  EXPECT_THAT(changes(h),
              ElementsAre(Change{MemberLeft{WorkspaceId{s.id},
                                            FormerRecord{AttendeeId{a.id}, "Alice", h.now_ms()}}}));
}

}  // namespace
}  // namespace ws::core::test
