// Engine tests of calls (PROTOCOL.md §4 ring/answer/busy/hangup, §4.1): the ring state machine
// on the fake clock, call membership, and how calls end.
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

/// Owner Olivia with guests Alice and Bob.
struct CallWorld {
  Harness h;
  Space s;
  Peer a, b;

  explicit CallWorld(EngineOptions o = {}) : h(std::move(o)) {
    s = h.create();
    a = h.join(s, "Alice");
    b = h.join(s, "Bob");
  }

  /// The owner rings `callee` (with `extra` JSON members); returns the call id of `ringing`.
  std::string ring(const Peer& callee, const std::string& extra = "") {
    h.as(s.owner, "ring",
         R"({"callee":{"id":")" + callee.id + R"("},"offer":{"sdp":"offer"})" +
             (extra.empty() ? "" : "," + extra) + "}");
    const Msg m = h.inbox(s.owner.conn).empty() ? Msg{} : h.inbox(s.owner.conn).front();
    EXPECT_EQ(m.event, "ringing") << json::serialize(m.data);
    return m.str("call.id");
  }

  void answer(const Peer& callee, const std::string& call, const std::string& extra = "",
              json::value id = 1) {
    h.as(callee, "answer",
         R"({"caller":{"id":")" + s.owner.id + R"("},"answer":{"sdp":"answer"},"call":{"id":")" +
             call + R"("})" + (extra.empty() ? "" : "," + extra) + "}",
         std::move(id));
  }

  /// `workspace.call` as a newcomer sees it.
  json::value call_seen_by_newcomer() {
    const Peer n = h.join(s, "Newcomer");
    const json::value call = h.last(n.conn).at("workspace.call");
    h.as(n, "leave");
    return call;
  }

  std::optional<CallRecord> stored_call() const { return h.store.at(s.id).call; }
};

// ---------------- ring ----------------

TEST(Ring, StartsACallAndRingsTheCallee) {
  CallWorld w;
  const std::string call = w.ring(w.a, R"("call":{"id":"_fromclient"},"nonce":"rn")");
  EXPECT_NE(call, "_fromclient");
  EXPECT_EQ(call.size(), 11u);
  const Msg ringing = w.h.only(w.s.owner.conn);
  EXPECT_EQ(ringing.re, json::value(1));
  EXPECT_EQ(ringing.data, J(R"({"call":{"id":"$c"},"callee":{"id":"$a"},"nonce":"rn"})",
                            {{"$c", call}, {"$a", w.a.id}}));
  const Msg ring = w.h.only(w.a.conn);
  EXPECT_EQ(ring.event, "ring");
  EXPECT_TRUE(ring.re.is_null());
  EXPECT_EQ(ring.data,
            J(R"({"workspace":{"id":"$w"},"caller":{"id":"$o","name":"Olivia","avatar":""},
                            "offer":{"sdp":"offer"},"call":{"id":"$c"},"nonce":"rn"})",
              {{"$w", w.s.id}, {"$o", w.s.owner.id}, {"$c", call}}));
  EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
  // The call is durable before the reply; the ring timer is armed for ring_timeout.
  EXPECT_LT(w.h.position("persist"), w.h.position("send 1 ringing"));
  const auto arms = w.h.all_of<ArmTimer>();
  ASSERT_EQ(arms.size(), 1u);
  EXPECT_EQ(arms[0].at, w.h.now() + 45s);
  ASSERT_TRUE(w.stored_call());
  EXPECT_EQ(*w.stored_call(), (CallRecord{CallId{call}, w.h.now_ms(), {AttendeeId{w.s.owner.id}}}));
  EXPECT_EQ(w.h.engine().stats().calls, 1u);
}

TEST(Ring, IntoTheCurrentCallNeitherPersistsNorStartsAnother) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  for (const std::string& extra : {std::string(), R"("call":{"id":")" + call + R"("})"}) {
    SCOPED_TRACE(extra);
    EXPECT_EQ(w.ring(w.b, extra), call);
    EXPECT_FALSE(w.h.has("persist"));
    EXPECT_EQ(w.h.only(w.b.conn).at("call.id"), json::value(call));
  }
}

TEST(Ring, RefusesSelfAndAnotherCallId) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  struct Case {
    std::string name, data, code, field;
  };
  const std::vector<Case> cases = {
      {"self", R"({"callee":{"id":")" + w.s.owner.id + R"("},"offer":{}})", "bad_request",
       "callee.id"},
      {"other call id", R"({"callee":{"id":")" + w.b.id + R"("},"offer":{},"call":{"id":"_x"}})",
       "not_found", "call.id"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    w.h.as(w.s.owner, "ring", tc.data);
    EXPECT_EQ(w.h.only(w.s.owner.conn).str("code"), tc.code);
    EXPECT_EQ(w.h.only(w.s.owner.conn).str("field"), tc.field);
    EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
    EXPECT_FALSE(w.h.has("arm"));
  }
  EXPECT_EQ(w.stored_call()->id.value, call);
}

TEST(Ring, OfflineCalleeGivesRingingThenBusyOffline) {
  CallWorld w;
  w.h.drop(w.b.conn);
  const std::string call = w.ring(w.b);
  const auto box = w.h.inbox(w.s.owner.conn);
  ASSERT_EQ(box.size(), 2u);
  EXPECT_EQ(box[0].event, "ringing");
  EXPECT_EQ(box[0].re, json::value(1));
  EXPECT_EQ(box[1].event, "busy");
  EXPECT_TRUE(box[1].re.is_null());
  EXPECT_EQ(box[1].data,
            J(R"({"workspace":{"id":"$w"},"callee":{"id":"$b","name":"Bob","avatar":""},
                  "call":{"id":"$c"},"reason":"offline"})",
              {{"$w", w.s.id}, {"$b", w.b.id}, {"$c", call}}));
  EXPECT_FALSE(w.h.has("arm"));
  EXPECT_THAT(w.h.events(w.a.conn), IsEmpty());
  // The call started anyway and stays with the owner alone.
  EXPECT_EQ(w.stored_call()->participants, std::vector<AttendeeId>{AttendeeId{w.s.owner.id}});
}

TEST(Ring, TimesOutExactlyAtTheRingTimeout) {
  for (const auto timeout : {45s, 10s}) {
    SCOPED_TRACE(timeout.count());
    CallWorld w(options_with(5, 30s, timeout));
    const std::string call = w.ring(w.a);
    w.h.advance(timeout - 1ms);
    EXPECT_THAT(w.h.trace(), IsEmpty());
    w.h.advance(1ms);
    EXPECT_EQ(w.h.only(w.s.owner.conn).event, "busy");
    EXPECT_EQ(w.h.only(w.s.owner.conn).data,
              J(R"({"workspace":{"id":"$w"},"callee":{"id":"$a","name":"Alice","avatar":""},
                    "call":{"id":"$c"},"reason":"timeout"})",
                {{"$w", w.s.id}, {"$a", w.a.id}, {"$c", call}}));
    EXPECT_EQ(w.h.only(w.a.conn).event, "ring-cancelled");
    EXPECT_EQ(w.h.only(w.a.conn).data,
              J(R"({"workspace":{"id":"$w"},"caller":{"id":"$o"},"call":{"id":"$c"},
                    "reason":"timeout"})",
                {{"$w", w.s.id}, {"$o", w.s.owner.id}, {"$c", call}}));
    EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
    EXPECT_FALSE(w.h.has("persist"));
    // The call goes on; the ring is over.
    EXPECT_TRUE(w.stored_call());
    w.answer(w.a, call);
    EXPECT_EQ(w.h.only(w.a.conn).str("code"), "forbidden");
  }
}

TEST(Ring, AnswerBeforeTheTimeoutCancelsTheTimer) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  const std::uint64_t timer = w.h.all_of<ArmTimer>().at(0).id.value;
  w.h.advance(44s);
  w.answer(w.a, call);
  const auto cancels = w.h.all_of<CancelTimer>();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].id.value, timer);
  w.h.advance(60s);
  EXPECT_THAT(w.h.trace(), IsEmpty());
  w.h.fire(TimerId{timer});  // a late TimerFired is ignored
  EXPECT_THAT(w.h.trace(), IsEmpty());
}

TEST(Ring, ReRingingAPendingCalleeRestartsItsTimer) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  const TimerId first = w.h.all_of<ArmTimer>().at(0).id;
  w.h.advance(30s);
  EXPECT_EQ(w.ring(w.a), call);
  EXPECT_EQ(w.h.all_of<CancelTimer>().at(0).id, first);
  EXPECT_EQ(w.h.all_of<ArmTimer>().at(0).at, w.h.now() + 45s);
  EXPECT_EQ(w.h.only(w.a.conn).event, "ring");
  w.h.fire(first);
  EXPECT_THAT(w.h.trace(), IsEmpty());
  w.h.advance(45s - 1ms);
  EXPECT_THAT(w.h.trace(), IsEmpty());
  w.h.advance(1ms);
  EXPECT_EQ(w.h.only(w.s.owner.conn).at("reason"), json::value("timeout"));
}

TEST(Ring, ReRingingCarriesTheNewOffer) {
  CallWorld w;
  w.ring(w.a);
  w.h.as(w.s.owner, "ring", R"({"callee":{"id":")" + w.a.id + R"("},"offer":{"sdp":"second"}})");
  EXPECT_EQ(w.h.only(w.a.conn).at("offer"), J(R"({"sdp":"second"})"));
}

TEST(Ring, ACurrentParticipantMayBeRungAgainToRenegotiate) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.answer(w.a, call);
  EXPECT_EQ(w.ring(w.a), call);
  EXPECT_EQ(w.h.only(w.a.conn).event, "ring");
  w.answer(w.a, call);
  EXPECT_EQ(w.h.only(w.a.conn).event, "ok");
  EXPECT_EQ(w.h.only(w.s.owner.conn).event, "answer");
  EXPECT_EQ(w.stored_call()->participants.size(), 2u);  // not added twice
}

TEST(Ring, EachCalleeHasItsOwnTimer) {
  CallWorld w;
  w.ring(w.a);
  w.h.advance(20s);
  w.ring(w.b);
  w.h.advance(25s);
  EXPECT_EQ(w.h.only(w.a.conn).event, "ring-cancelled");
  EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
  w.h.advance(20s);
  EXPECT_EQ(w.h.only(w.b.conn).event, "ring-cancelled");
}

// ---------------- answer ----------------

TEST(Answer, ReachesTheOwnerAndJoinsTheCall) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.h.advance(5s);
  w.answer(w.a, call, R"("nonce":"an")", 4);
  const Msg ok = w.h.only(w.a.conn);
  EXPECT_EQ(ok.event, "ok");
  EXPECT_EQ(ok.re, json::value(4));
  EXPECT_EQ(ok.data, J(R"({"event":"answer","nonce":"an"})"));
  const Msg to_owner = w.h.only(w.s.owner.conn);
  EXPECT_EQ(to_owner.event, "answer");
  EXPECT_TRUE(to_owner.re.is_null());
  EXPECT_EQ(to_owner.data,
            J(R"({"workspace":{"id":"$w"},"callee":{"id":"$a","name":"Alice","avatar":""},
                  "answer":{"sdp":"answer"},"call":{"id":"$c"},"nonce":"an"})",
              {{"$w", w.s.id}, {"$a", w.a.id}, {"$c", call}}));
  EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
  EXPECT_LT(w.h.position("persist"), w.h.position("send 2 ok"));
  EXPECT_EQ(w.stored_call()->participants,
            (std::vector<AttendeeId>{AttendeeId{w.s.owner.id}, AttendeeId{w.a.id}}));
  EXPECT_EQ(w.call_seen_by_newcomer(), J(R"({"id":"$c","started":$t,"participants":["$o","$a"]})",
                                         {{"$c", call},
                                          {"$t", std::to_string(w.stored_call()->started_ms)},
                                          {"$o", w.s.owner.id},
                                          {"$a", w.a.id}}));
}

TEST(Answer, WithoutAnIdOnlyTheOwnerHearsOfIt) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.answer(w.a, call, "", nullptr);
  EXPECT_THAT(w.h.events(w.a.conn), IsEmpty());
  EXPECT_EQ(w.h.only(w.s.owner.conn).event, "answer");
}

TEST(Answer, ToAnOfflineOwnerIsDroppedButAccepted) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.h.drop(w.s.owner.conn);
  w.answer(w.a, call);
  EXPECT_EQ(w.h.only(w.a.conn).event, "ok");
  EXPECT_EQ(w.stored_call()->participants.size(), 2u);
}

TEST(Answer, RefusedWithoutAPendingRingFromTheOwnerForThisCall) {
  struct Case {
    std::string name;
    std::function<std::string(CallWorld&)> setup;  // returns the data to answer with
    std::string code, field;
  };
  auto data = [](const std::string& caller, const std::string& call) {
    return R"({"caller":{"id":")" + caller + R"("},"answer":{},"call":{"id":")" + call + R"("}})";
  };
  const std::vector<Case> cases = {
      {"no call", [&](CallWorld& w) { return data(w.s.owner.id, "_c"); }, "forbidden", ""},
      {"ring went to someone else", [&](CallWorld& w) { return data(w.s.owner.id, w.ring(w.b)); },
       "forbidden", ""},
      {"caller is not the owner", [&](CallWorld& w) { return data(w.b.id, w.ring(w.a)); },
       "forbidden", "caller.id"},
      {"other call id",
       [&](CallWorld& w) {
         w.ring(w.a);
         return data(w.s.owner.id, "_x");
       },
       "not_found", "call.id"},
      {"already answered",
       [&](CallWorld& w) {
         const std::string c = w.ring(w.a);
         w.answer(w.a, c);
         return data(w.s.owner.id, c);
       },
       "forbidden", ""},
      {"declined",
       [&](CallWorld& w) {
         const std::string c = w.ring(w.a);
         w.h.as(w.a, "busy", R"({"call":{"id":")" + c + R"("}})");
         return data(w.s.owner.id, c);
       },
       "forbidden", ""},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    CallWorld w;
    const std::string d = tc.setup(w);
    w.h.as(w.a, "answer", d);
    EXPECT_EQ(w.h.only(w.a.conn).str("code"), tc.code);
    EXPECT_EQ(w.h.only(w.a.conn).str("field"), tc.field);
    EXPECT_THAT(w.h.events(w.s.owner.conn), IsEmpty());
    EXPECT_FALSE(w.h.has("persist"));
  }
}

// ---------------- busy ----------------

TEST(Busy, DecliningARingTellsEveryOtherMember) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.h.as(w.a, "busy", R"({"call":{"id":")" + call + R"("},"nonce":"b"})", 5);
  EXPECT_EQ(w.h.only(w.a.conn).data, J(R"({"event":"busy","nonce":"b"})"));
  EXPECT_EQ(w.h.only(w.a.conn).re, json::value(5));
  const json::value pushed =
      J(R"({"workspace":{"id":"$w"},"callee":{"id":"$a","name":"Alice","avatar":""},
            "call":{"id":"$c"},"reason":"declined"})",
        {{"$w", w.s.id}, {"$a", w.a.id}, {"$c", call}});
  for (const ConnId c : {w.s.owner.conn, w.b.conn}) {
    EXPECT_EQ(w.h.only(c).event, "busy");
    EXPECT_EQ(w.h.only(c).data, pushed);
  }
  EXPECT_EQ(w.h.all_of<CancelTimer>().size(), 1u);
  EXPECT_FALSE(w.h.has("persist"));  // rings are not durable; the call did not change
  w.h.advance(60s);
  EXPECT_THAT(w.h.trace(), IsEmpty());
}

TEST(Busy, AParticipantDropsOutAndTheCallGoesOn) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.answer(w.a, call);
  w.h.as(w.a, "busy", R"({"call":{"id":")" + call + R"("}})");
  EXPECT_EQ(w.h.only(w.a.conn).event, "ok");
  EXPECT_EQ(w.h.only(w.s.owner.conn).at("reason"), json::value("declined"));
  EXPECT_EQ(w.h.only(w.b.conn).event, "busy");
  EXPECT_LT(w.h.position("persist"), w.h.position("send 2 ok"));
  EXPECT_EQ(w.stored_call()->participants, std::vector<AttendeeId>{AttendeeId{w.s.owner.id}});
}

TEST(Busy, RefusedForTheOwnerNonPartiesAndOtherCalls) {
  struct Case {
    std::string name;
    bool from_owner;
    std::function<std::string(CallWorld&)> call;  // the call id to send
    std::string code, field;
  };
  const std::vector<Case> cases = {
      {"owner", true, [](CallWorld& w) { return w.ring(w.a); }, "forbidden", ""},
      {"no call", false, [](CallWorld&) { return std::string("_c"); }, "forbidden", ""},
      {"not rung", false, [](CallWorld& w) { return w.ring(w.b); }, "forbidden", ""},
      {"after timeout", false,
       [](CallWorld& w) {
         const std::string c = w.ring(w.a);
         w.h.advance(45s);
         return c;
       },
       "forbidden", ""},
      {"other call id", false,
       [](CallWorld& w) {
         w.ring(w.a);
         return std::string("_x");
       },
       "not_found", "call.id"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    CallWorld w;
    const std::string call = tc.call(w);
    const Peer& p = tc.from_owner ? w.s.owner : w.a;
    w.h.as(p, "busy", R"({"call":{"id":")" + call + R"("}})");
    EXPECT_EQ(w.h.only(p.conn).str("code"), tc.code);
    EXPECT_EQ(w.h.only(p.conn).str("field"), tc.field);
    EXPECT_EQ(w.h.effects().size(), 1u);
  }
}

// ---------------- hangup ----------------

TEST(Hangup, EndsTheCallForEveryone) {
  for (const bool with_id : {false, true}) {
    SCOPED_TRACE(with_id);
    CallWorld w;
    const std::string call = w.ring(w.a);
    w.answer(w.a, call);
    w.ring(w.b);  // still ringing: its timer goes too
    w.h.as(w.s.owner, "hangup",
           with_id ? R"({"call":{"id":")" + call + R"("},"nonce":"h"})" : R"({"nonce":"h"})", 6);
    EXPECT_EQ(w.h.only(w.s.owner.conn).data, J(R"({"event":"hangup","nonce":"h"})"));
    EXPECT_EQ(w.h.only(w.s.owner.conn).re, json::value(6));
    const json::value pushed =
        J(R"({"attendee":{"id":"$o"},"call":{"id":"$c"}})", {{"$o", w.s.owner.id}, {"$c", call}});
    for (const ConnId c : {w.a.conn, w.b.conn}) {
      EXPECT_EQ(w.h.only(c).event, "hangup");
      EXPECT_EQ(w.h.only(c).data, pushed);
    }
    EXPECT_LT(w.h.position("persist"), w.h.position("send 1 ok"));
    EXPECT_EQ(w.h.all_of<CancelTimer>().size(), 1u);
    EXPECT_FALSE(w.stored_call());
    EXPECT_EQ(w.h.engine().stats().calls, 0u);
    w.h.advance(60s);
    EXPECT_THAT(w.h.trace(), IsEmpty());
    EXPECT_TRUE(w.call_seen_by_newcomer().is_null());
    // A new ring starts a new call.
    EXPECT_NE(w.ring(w.a), call);
  }
}

TEST(Hangup, RefusedWithoutACallOrForAnotherOne) {
  CallWorld w;
  w.h.as(w.s.owner, "hangup");
  EXPECT_EQ(w.h.only(w.s.owner.conn).str("code"), "not_found");
  const std::string call = w.ring(w.a);
  w.h.as(w.s.owner, "hangup", R"({"call":{"id":"_other"}})");
  EXPECT_EQ(w.h.only(w.s.owner.conn).str("code"), "not_found");
  EXPECT_EQ(w.h.only(w.s.owner.conn).str("field"), "call.id");
  EXPECT_EQ(w.stored_call()->id.value, call);
}

// ---------------- how calls and rings end ----------------

TEST(Call, StaysWithNoParticipantButTheOwnerUntilHangup) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.answer(w.a, call);
  w.h.as(w.a, "busy", R"({"call":{"id":")" + call + R"("}})");
  w.h.advance(10min);
  EXPECT_EQ(
      w.call_seen_by_newcomer(),
      J(R"({"id":"$c","started":$t,"participants":["$o"]})",
        {{"$c", call}, {"$t", std::to_string(w.stored_call()->started_ms)}, {"$o", w.s.owner.id}}));
  w.h.as(w.s.owner, "hangup");
  EXPECT_TRUE(w.call_seen_by_newcomer().is_null());
}

TEST(Call, ARingingCalleeWhoStopsBeingAMemberEndsAsGone) {
  struct Case {
    std::string name;
    std::function<void(CallWorld&)> act;
    std::vector<std::string> owner_gets;
  };
  const std::vector<Case> cases = {
      {"leaves", [](CallWorld& w) { w.h.as(w.a, "leave"); }, {"busy", "leave"}},
      {"is kicked",
       [](CallWorld& w) {
         w.h.as(w.s.owner, "kick", R"({"attendee":{"id":")" + w.a.id + R"("}})");
       },
       {"busy", "kicked"}},
      {"drops past the grace period",
       [](CallWorld& w) {
         w.h.drop(w.a.conn);
         w.h.advance(30s);
       },
       {"busy", "leave"}},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    CallWorld w;
    const std::string call = w.ring(w.a);
    tc.act(w);
    EXPECT_EQ(w.h.events(w.s.owner.conn), tc.owner_gets);
    EXPECT_EQ(w.h.inbox(w.s.owner.conn).at(0).data,
              J(R"({"workspace":{"id":"$w"},"callee":{"id":"$a","name":"Alice","avatar":""},
                    "call":{"id":"$c"},"reason":"gone"})",
                {{"$w", w.s.id}, {"$a", w.a.id}, {"$c", call}}));
    EXPECT_THAT(w.h.events(w.b.conn), ::testing::Not(::testing::Contains("busy")));
    EXPECT_TRUE(w.stored_call());
    w.h.advance(60s);
    EXPECT_THAT(w.h.events(w.s.owner.conn), IsEmpty());  // no `timeout` later
  }
}

TEST(Call, AParticipantWhoLeavesIsDroppedFromTheCallQuietly) {
  CallWorld w;
  const std::string call = w.ring(w.a);
  w.answer(w.a, call);
  w.h.as(w.a, "leave");
  EXPECT_THAT(w.h.events(w.s.owner.conn), ElementsAre("leave"));
  EXPECT_EQ(w.stored_call()->participants, std::vector<AttendeeId>{AttendeeId{w.s.owner.id}});
}

TEST(Call, EndsWithHangupToAllWhenTheOwnerStopsBeingAMember) {
  struct Case {
    std::string name;
    std::function<void(CallWorld&)> act;
  };
  const std::vector<Case> cases = {
      {"owner leaves", [](CallWorld& w) { w.h.as(w.s.owner, "leave"); }},
      {"owner drops past the grace period",
       [](CallWorld& w) {
         w.h.drop(w.s.owner.conn);
         w.h.advance(30s);
       }},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    CallWorld w;
    const std::string call = w.ring(w.a);
    w.answer(w.a, call);
    w.ring(w.b);
    tc.act(w);
    const json::value hangup =
        J(R"({"attendee":{"id":"$o"},"call":{"id":"$c"}})", {{"$o", w.s.owner.id}, {"$c", call}});
    for (const ConnId c : {w.a.conn, w.b.conn}) {
      EXPECT_THAT(w.h.events(c), ElementsAre("hangup", "leave"));
      EXPECT_EQ(w.h.inbox(c).at(0).data, hangup);
    }
    EXPECT_EQ(w.h.all_of<CancelTimer>().size(), 1u);  // Bob's ring
    EXPECT_FALSE(w.stored_call());
    w.h.advance(60s);
    EXPECT_THAT(w.h.trace(), IsEmpty());
    const Peer back = w.h.reattend(w.s.owner);
    EXPECT_TRUE(w.h.last(back.conn).at("workspace.call").is_null());
  }
}

TEST(Call, DestroyCancelsPendingRings) {
  CallWorld w;
  w.ring(w.a);
  w.h.as(w.s.owner, "destroy");
  EXPECT_TRUE(w.h.armed().empty());
  w.h.advance(60s);
  EXPECT_THAT(w.h.trace(), IsEmpty());
}

}  // namespace
}  // namespace ws::core::test
