// Engine tests of restore() (PROTOCOL.md §8): a new Engine rebuilt from the Persist records of
// an old one brings every attendee back offline with a fresh grace period; old tokens work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// Before the restart: a PIN workspace with a call (owner + Alice), Bob kicked, Carl left,
/// Alice's mic off, Dana ringing when the server stops.
struct BeforeRestart {
  Harness h;
  Space s;
  Peer alice, bob, carl, dana;
  std::string call;

  BeforeRestart() {
    s = h.create(R"({"workspace":{"name":"Vault","pin":"1234"},"attendee":{"name":"Olivia"}})");
    alice = h.join(s, "Alice", "1234");
    bob = h.join(s, "Bob", "1234");
    carl = h.join(s, "Carl", "1234");
    dana = h.join(s, "Dana", "1234");
    h.as(alice, "mic-toggle", R"({"state":false})");
    h.as(s.owner, "ring", R"({"callee":{"id":")" + alice.id + R"("},"offer":{}})");
    call = h.last(s.owner.conn).str("call.id");
    h.as(
        alice, "answer",
        R"({"caller":{"id":")" + s.owner.id + R"("},"answer":{},"call":{"id":")" + call + R"("}})");
    h.as(s.owner, "kick", R"({"attendee":{"id":")" + bob.id + R"("}})");
    h.as(carl, "leave");
    h.as(s.owner, "ring", R"({"callee":{"id":")" + dana.id + R"("},"offer":{}})");
  }
};

TEST(Restore, EveryMemberComesBackOfflineWithAFreshGraceTimer) {
  BeforeRestart before;
  Harness h;
  h.advance(1h);
  h.restore(before.h.snapshot());
  // Owner, Alice, Dana; nobody is online, so the workspace is idle from now on (durably: the
  // record said someone was online).
  EXPECT_THAT(h.trace(), ElementsAre("arm 1", "arm 2", "arm 3", "persist idle " + before.s.id));
  for (const auto& arm : h.all_of<ArmTimer>()) EXPECT_EQ(arm.at, h.now() + 30s);
  const EngineStats st = h.engine().stats();
  EXPECT_EQ(st.workspaces, 1u);
  EXPECT_EQ(st.attendees, 3u);
  EXPECT_EQ(st.online_attendees, 0u);
  EXPECT_EQ(st.calls, 1u);
  EXPECT_EQ(st.connections, 0u);
}

TEST(Restore, OldTokensReAttendSilentlyAndSeeTheCallAndTheirState) {
  BeforeRestart before;
  Harness h;
  h.restore(before.h.snapshot());
  const Peer owner = h.reattend(before.s.owner);
  const Msg m = h.only(owner.conn);
  EXPECT_EQ(m.event, "re-attendance-granted");
  EXPECT_EQ(m.at("workspace.call"),
            J(R"({"id":"$c","started":$t,"participants":["$o","$a"]})",
              {{"$c", before.call},
               {"$t", std::to_string(before.h.store.at(before.s.id).call->started_ms)},
               {"$o", before.s.owner.id},
               {"$a", before.alice.id}}));
  EXPECT_EQ(at(m.at("attendees"), before.alice.id),
            J(R"({"id":"$a","name":"Alice","avatar":"","mic":false,"cam":true,"online":false})",
              {{"$a", before.alice.id}}));
  EXPECT_EQ(keys(m.at("attendees")).size(), 3u);
  const Peer alice = h.reattend(before.alice);
  EXPECT_EQ(h.only(alice.conn).event, "re-attendance-granted");
  EXPECT_THAT(h.events(owner.conn), IsEmpty());  // silent: still a member
  // The ring to Dana did not survive: she cannot answer it.
  const Peer dana = h.reattend(before.dana);
  h.as(dana, "answer",
       R"({"caller":{"id":")" + before.s.owner.id + R"("},"answer":{},"call":{"id":")" +
           before.call + R"("}})");
  EXPECT_EQ(h.only(dana.conn).str("code"), "forbidden");
}

TEST(Restore, RevokedStayRevokedAndFormerMembersMayReturn) {
  BeforeRestart before;
  Harness h;
  h.restore(before.h.snapshot());
  const Peer owner = h.reattend(before.s.owner);
  EXPECT_EQ(h.only(h.reattend(before.bob).conn).str("code"), "token_revoked");
  const Peer carl = h.reattend(before.carl);
  EXPECT_EQ(h.only(carl.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.only(owner.conn).event, "attend");
}

TEST(Restore, ThePinAndTheInviteStillWork) {
  BeforeRestart before;
  Harness h;
  h.restore(before.h.snapshot());
  const ConnId wrong = h.connect();
  h.request(wrong, "attend", Harness::attend_data(before.s, "Eve", "0000"));
  EXPECT_EQ(h.only(wrong).str("code"), "pin_invalid");
  h.join(before.s, "Fay", "1234");
}

TEST(Restore, MembersWhoDoNotComeBackLeaveAfterTheGraceAndTheCallEndsWithTheOwner) {
  BeforeRestart before;
  Harness h;
  h.restore(before.h.snapshot());
  const Peer alice = h.reattend(before.alice);
  h.advance(30s - 1ms);
  EXPECT_THAT(h.trace(), IsEmpty());
  h.advance(1ms);
  // The owner's and Dana's grace ran out: the call ends, both leave.
  EXPECT_THAT(h.events(alice.conn), ElementsAre("hangup", "leave", "leave"));
  EXPECT_FALSE(h.store.at(before.s.id).call);
  EXPECT_EQ(h.store.at(before.s.id).members.size(), 1u);
  EXPECT_EQ(h.engine().stats().calls, 0u);
}

TEST(Restore, TheRestoredStoreRecordIsWhatWasPersisted) {
  BeforeRestart before;
  const WorkspaceRecord& r = before.h.store.at(before.s.id);
  EXPECT_EQ(r.pin_hash, "h:1234");
  EXPECT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[1], (AttendeeRecord{AttendeeId{before.alice.id}, "Alice", "", false, true}));
  ASSERT_EQ(r.former.size(), 1u);
  EXPECT_EQ(r.former[0].id.value, before.carl.id);
  // Bob was kicked: neither a member nor a former member, which is what revoked means.
  for (const auto& a : r.members) EXPECT_NE(a.id.value, before.bob.id);
  for (const auto& f : r.former) EXPECT_NE(f.id.value, before.bob.id);
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->participants,
            (std::vector<AttendeeId>{AttendeeId{before.s.owner.id}, AttendeeId{before.alice.id}}));
}

// ---- without a store (no json_storage_file) nothing is persisted ----

TEST(Durability, WithoutAStoreNoChangeIsPersistedAndTheRepliesAreTheSame) {
  for (const bool durable : {true, false}) {
    SCOPED_TRACE(durable ? "durable" : "memory only");
    EngineOptions options;
    options.durable = durable;
    Harness h(options);
    const Space s = h.create();
    EXPECT_EQ(h.has("persist"), durable);
    const Peer guest = h.join(s);
    EXPECT_EQ(h.has("persist"), durable);
    EXPECT_EQ(h.last(guest.conn).event, "attendance-granted");
    h.as(guest, "leave");
    EXPECT_EQ(h.has("persist"), durable);
    EXPECT_EQ(h.only(guest.conn).event, "left");
    h.as(s.owner, "destroy");
    EXPECT_EQ(h.has("persist delete"), durable);
    EXPECT_EQ(h.only(s.owner.conn).event, "destroyed");
  }
}

}  // namespace
}  // namespace ws::core::test
