// Engine tests of the envelope (PROTOCOL.md §2, §4, §5): `re` and nonce echo, `ok` only with an
// id, alert fields, bad-frame limit, Persist before replies, iceservers, shutdown and stats.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// Owner Olivia with guests Alice and Bob, and a helper to reach a state with a call.
struct World {
  Harness h;
  Space s;
  Peer a, b;
  World() {
    s = h.create();
    a = h.join(s, "Alice");
    b = h.join(s, "Bob");
  }
  std::string ring(const Peer& p) {
    h.as(s.owner, "ring", R"({"callee":{"id":")" + p.id + R"("},"offer":{}})");
    return h.inbox(s.owner.conn).front().str("call.id");
  }
  std::string answered_call() {
    const std::string call = ring(a);
    h.as(
        a, "answer",
        R"({"caller":{"id":")" + s.owner.id + R"("},"answer":{},"call":{"id":")" + call + R"("}})");
    return call;
  }
  std::string var(const std::string& text) {
    return expand(text, {{"$owner", s.owner.id}, {"$a", a.id}, {"$b", b.id}});
  }
};

// ---------------- re, nonce, ok ----------------

TEST(Envelope, RequestsWithoutANamedReplyGetOkOnlyWhenTheyCarryAnId) {
  struct Case {
    std::string name;
    std::function<const Peer&(World&)> sender;
    std::function<std::string(World&)> data;  // sets the scene, returns the data
    std::string event;
  };
  const std::vector<Case> cases = {
      {"mic-toggle", [](World& w) -> const Peer& { return w.a; },
       [](World&) { return std::string(R"({"state":false})"); }, "mic-toggle"},
      {"cam-toggle", [](World& w) -> const Peer& { return w.a; },
       [](World&) { return std::string(R"({"state":false})"); }, "cam-toggle"},
      {"icecandidate", [](World& w) -> const Peer& { return w.a; },
       [](World& w) { return w.var(R"({"attendee":{"id":"$b"},"candidate":{}})"); },
       "icecandidate"},
      {"negotiation", [](World& w) -> const Peer& { return w.a; },
       [](World& w) { return w.var(R"({"attendee":{"id":"$b"},"message":{}})"); }, "negotiation"},
      {"answer", [](World& w) -> const Peer& { return w.a; },
       [](World& w) {
         const std::string c = w.ring(w.a);
         return w.var(R"({"caller":{"id":"$owner"},"answer":{},"call":{"id":")" + c + R"("}})");
       },
       "answer"},
      {"busy", [](World& w) -> const Peer& { return w.a; },
       [](World& w) { return R"({"call":{"id":")" + w.ring(w.a) + R"("}})"; }, "busy"},
      {"hangup", [](World& w) -> const Peer& { return w.s.owner; },
       [](World& w) {
         w.ring(w.a);
         return std::string("{}");
       },
       "hangup"},
  };
  for (const auto& tc : cases) {
    for (const json::value& id : {json::value(5), json::value("req-5"), json::value(nullptr)}) {
      SCOPED_TRACE(tc.name + " id " + json::serialize(id));
      World w;
      const std::string data = tc.data(w);
      const Peer& p = tc.sender(w);
      w.h.as(p, tc.event, data, id);
      if (id.is_null()) {
        EXPECT_THAT(w.h.events(p.conn), IsEmpty());
      } else {
        const Msg m = w.h.only(p.conn);
        EXPECT_EQ(m.event, "ok");
        EXPECT_EQ(m.re, id);
        EXPECT_EQ(m.data, J(R"({"event":"$e"})", {{"$e", tc.event}}));
      }
      std::size_t to_others = 0;
      for (const ConnId c : {w.s.owner.conn, w.a.conn, w.b.conn})
        if (c != p.conn) to_others += w.h.inbox(c).size();
      EXPECT_GT(to_others, 0u) << "the others are told either way";
    }
  }
}

TEST(Envelope, NamedRepliesComeWithOrWithoutAnIdAndEchoIt) {
  struct Case {
    std::string event, data, reply;
    bool owner;
  };
  const std::vector<Case> cases = {
      {"attendees", "{}", "attendees", false},
      {"refresh", "{}", "token-refreshed", false},
      {"ring", R"({"callee":{"id":"$a"},"offer":{}})", "ringing", true},
      {"kick", R"({"attendee":{"id":"$a"}})", "kicked", true},
      {"leave", "{}", "left", false},
      {"destroy", "{}", "destroyed", true},
  };
  for (const auto& tc : cases) {
    for (const json::value& id :
         {json::value(0), json::value(-7), json::value(std::string(64, 'i')), json::value()}) {
      SCOPED_TRACE(tc.event + " id " + json::serialize(id));
      World w;
      const Peer& p = tc.owner ? w.s.owner : w.b;
      w.h.as(p, tc.event, w.var(tc.data), id);
      const Msg m = w.h.inbox(p.conn).at(0);
      EXPECT_EQ(m.event, tc.reply);
      EXPECT_EQ(m.re, id);
      EXPECT_FALSE(m.data.as_object().contains("nonce"));
    }
  }
}

TEST(Envelope, NonceIsEchoedInEveryObjectReplyAndInTheAlert) {
  for (const json::value& nonce : {json::value("n-1"), json::value(12345)}) {
    SCOPED_TRACE(json::serialize(nonce));
    World w;
    const std::string n = json::serialize(nonce);
    w.h.as(w.a, "attendees", R"({"nonce":)" + n + "}");
    EXPECT_EQ(w.h.only(w.a.conn).at("nonce"), nonce);
    w.h.as(w.a, "mic-toggle", R"({"state":true,"nonce":)" + n + "}");
    EXPECT_EQ(w.h.only(w.a.conn).at("nonce"), nonce);
    EXPECT_FALSE(w.h.only(w.b.conn).data.as_object().contains("nonce"));  // pushes: no nonce
    w.h.as(w.a, "kick", R"({"attendee":{"id":"x"},"nonce":)" + n + "}");
    EXPECT_EQ(w.h.only(w.a.conn).at("nonce"), nonce);
    w.h.request(w.a.conn, "teleport", R"({"nonce":)" + n + "}");
    EXPECT_EQ(w.h.only(w.a.conn).at("nonce"), nonce);
  }
}

TEST(Alert, CarriesExactlyItsFields) {
  World w;
  struct Case {
    std::string name;
    std::function<void(World&)> act;
    ConnId conn;
    std::vector<std::string> keys;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"token error with nonce and id",
       [](World& w) { w.h.request(w.a.conn, "leave", R"({"nonce":"n"})", 1); },
       w.a.conn,
       {"code", "event", "message", "nonce"},
       "token_missing"},
      {"token error, no nonce",
       [](World& w) { w.h.request(w.a.conn, "leave", "{}", nullptr); },
       w.a.conn,
       {"code", "event", "message"},
       "token_missing"},
      {"field error",
       [](World& w) { w.h.as(w.a, "mic-toggle", R"({"state":"x"})"); },
       w.a.conn,
       {"code", "event", "field", "message"},
       "bad_request"},
      {"too large",
       [](World& w) {
         w.h.request(w.h.connect(), "create",
                     R"({"attendee":{"name":")" + std::string(65, 'x') + R"("}})");
       },
       ConnId{4},
       {"code", "event", "field", "message"},
       "too_large"},
      {"not found",
       [](World& w) { w.h.as(w.s.owner, "kick", R"({"attendee":{"id":"_x"}})"); },
       w.s.owner.conn,
       {"code", "event", "field", "message"},
       "not_found"},
      {"unknown event",
       [](World& w) { w.h.send(w.a.conn, R"({"event":"teleport"})"); },
       w.a.conn,
       {"code", "event", "message"},
       "unknown_event"},
      {"bad JSON",
       [](World& w) { w.h.send(w.a.conn, "{"); },
       w.a.conn,
       {"code", "message"},
       "bad_request"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    tc.act(w);
    const Msg m = w.h.only(tc.conn);
    EXPECT_EQ(m.event, "alert");
    EXPECT_EQ(keys(m.data), tc.keys);
    EXPECT_EQ(m.str("code"), tc.code);
    EXPECT_FALSE(m.str("message").empty());
  }
}

TEST(Alert, RateLimitedCarriesRetryAfter) {
  Harness h;
  const Space s = h.create(R"({"workspace":{"pin":"1"}})");
  for (int i = 0; i < 5; ++i) h.request(h.connect(), "attend", Harness::attend_data(s, "x", "2"));
  const ConnId c = h.connect();
  h.request(c, "attend", Harness::attend_data(s, "x", "2"));
  EXPECT_EQ(keys(h.only(c).data),
            (std::vector<std::string>{"code", "event", "message", "retryAfter"}));
  EXPECT_EQ(h.only(c).at("retryAfter"), json::value(60));
}

// ---------------- bad frames ----------------

TEST(BadFrames, TheFrameAfterMaxBadFramesWithinTenSecondsCloses1008) {
  const std::vector<std::string> bad = {"{",
                                        "[]",
                                        R"({"data":{}})",
                                        R"({"event":5})",
                                        R"({"event":"nope"})",
                                        R"({"event":"leave","id":{}})"};
  Harness h;
  const ConnId c = h.connect();
  const ConnId other = h.connect();
  for (int i = 0; i < 20; ++i) {
    h.send(c, bad[i % bad.size()]);
    EXPECT_EQ(h.only(c).event, "alert");
    EXPECT_THAT(h.closes(c), IsEmpty()) << i;
    h.advance(400ms);           // 20 frames within 8 s
    h.request(c, "attendees");  // good frames (even if refused) do not reset the count
  }
  h.send(c, R"({"event":"unknown"})");
  EXPECT_EQ(h.only(c).str("code"), "unknown_event");
  EXPECT_THAT(h.closes(c), ElementsAre(1008));
  EXPECT_LT(h.position("send"), h.position("close"));
  h.send(other, "{");
  EXPECT_THAT(h.closes(other), IsEmpty());
}

TEST(BadFrames, FieldErrorsCountForEveryEvent) {
  // docs/protocol.md §11: field errors (bad_request, too_large) count like frame errors.
  struct Case {
    std::string name;
    std::function<void(World&, ConnId)> send_bad;
  };
  const std::vector<Case> cases = {
      {"create",
       [](World& w, ConnId c) { w.h.request(c, "create", R"({"workspace":{"name":1}})"); }},
      {"attend",
       [](World& w, ConnId c) {
         w.h.request(c, "attend",
                     R"({"workspace":{"token":")" + w.s.invite + R"("},"attendee":{"name":1}})");
       }},
      {"re-attend",
       [](World& w, ConnId c) {
         w.h.request_with(c, json::value(w.a.token), "re-attend", R"({"nonce":[]})");
       }},
      {"member event", [](World& w, ConnId) { w.h.as(w.b, "mic-toggle", R"({"state":"on"})"); }},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    World w;
    const ConnId c = tc.name == "member event" ? w.b.conn : w.h.connect();
    for (int i = 0; i < 20; ++i) {
      tc.send_bad(w, c);
      EXPECT_EQ(w.h.only(c).event, "alert");
      EXPECT_THAT(w.h.closes(c), IsEmpty()) << i;
    }
    tc.send_bad(w, c);
    EXPECT_THAT(w.h.closes(c), ElementsAre(1008));
  }
}

TEST(BadFrames, SpreadOverMoreThanTheWindowTheyDoNotClose) {
  Harness h;
  const ConnId c = h.connect();
  for (int i = 0; i < 100; ++i) {
    h.send(c, "not json");
    EXPECT_THAT(h.closes(c), IsEmpty()) << i;
    h.advance(500ms);  // exactly 20 per 10 s
  }
}

TEST(BadFrames, LimitFollowsTheOptions) {
  EngineOptions o;
  o.max_bad_frames = 2;
  o.bad_frame_window = 1s;
  Harness h(o);
  const ConnId c = h.connect();
  h.send(c, "{");
  h.send(c, "{");
  EXPECT_THAT(h.closes(c), IsEmpty());
  h.advance(1s);
  h.send(c, "{");
  EXPECT_THAT(h.closes(c), IsEmpty());
  h.send(c, "{");
  h.send(c, "{");
  EXPECT_THAT(h.closes(c), ElementsAre(1008));
}

// ---------------- Persist before the reply ----------------

TEST(Persist, ComesBeforeTheReplyOfEveryMutatingRequest) {
  struct Case {
    std::string name;
    std::function<ConnId(World&)> act;  // returns the requester
    std::string reply;
  };
  const std::vector<Case> cases = {
      {"create",
       [](World& w) {
         const ConnId c = w.h.connect();
         w.h.request(c, "create");
         return c;
       },
       "created"},
      {"create with PIN",
       [](World& w) {
         const ConnId c = w.h.connect();
         w.h.request(c, "create", R"({"workspace":{"pin":"9"}})");
         return c;
       },
       "created"},
      {"attend",
       [](World& w) {
         const ConnId c = w.h.connect();
         w.h.request(c, "attend", Harness::attend_data(w.s, "N"));
         return c;
       },
       "attendance-granted"},
      {"re-attend after leaving",
       [](World& w) {
         w.h.as(w.a, "leave");
         return w.h.reattend(w.a).conn;
       },
       "re-attendance-granted"},
      {"leave",
       [](World& w) {
         w.h.as(w.a, "leave");
         return w.a.conn;
       },
       "left"},
      {"kick",
       [](World& w) {
         w.h.as(w.s.owner, "kick", w.var(R"({"attendee":{"id":"$a"}})"));
         return w.s.owner.conn;
       },
       "kicked"},
      {"destroy",
       [](World& w) {
         w.h.as(w.s.owner, "destroy");
         return w.s.owner.conn;
       },
       "destroyed"},
      {"mic-toggle",
       [](World& w) {
         w.h.as(w.a, "mic-toggle", R"({"state":false})");
         return w.a.conn;
       },
       "ok"},
      {"cam-toggle",
       [](World& w) {
         w.h.as(w.a, "cam-toggle", R"({"state":false})");
         return w.a.conn;
       },
       "ok"},
      {"ring starting a call",
       [](World& w) {
         w.ring(w.a);
         return w.s.owner.conn;
       },
       "ringing"},
      {"answer",
       [](World& w) {
         w.answered_call();
         return w.a.conn;
       },
       "ok"},
      {"busy of a participant",
       [](World& w) {
         const std::string c = w.answered_call();
         w.h.as(w.a, "busy", R"({"call":{"id":")" + c + R"("}})");
         return w.a.conn;
       },
       "ok"},
      {"hangup",
       [](World& w) {
         w.ring(w.a);
         w.h.as(w.s.owner, "hangup");
         return w.s.owner.conn;
       },
       "ok"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    World w;
    const ConnId c = tc.act(w);
    const int persist = w.h.position("persist");
    const int reply = w.h.position("send " + std::to_string(c.value) + " " + tc.reply);
    EXPECT_GE(persist, 0);
    EXPECT_GT(reply, persist);
  }
}

TEST(Persist, NeverForRelaysOrReads) {
  struct Case {
    std::string name;
    std::function<void(World&)> act;
  };
  const std::vector<Case> cases = {
      {"icecandidate",
       [](World& w) {
         w.h.as(w.a, "icecandidate", w.var(R"({"attendee":{"id":"$b"},"candidate":{}})"));
       }},
      {"negotiation",
       [](World& w) {
         w.h.as(w.a, "negotiation", w.var(R"({"attendee":{"id":"$b"},"message":{}})"));
       }},
      {"ring into the current call",
       [](World& w) {
         w.ring(w.a);
         w.ring(w.b);
       }},
      {"attendees", [](World& w) { w.h.as(w.a, "attendees"); }},
      {"refresh", [](World& w) { w.h.as(w.a, "refresh"); }},
      {"iceservers", [](World& w) { w.h.as(w.a, "iceservers"); }},
      {"re-attend within grace",
       [](World& w) {
         w.h.drop(w.a.conn);
         w.h.reattend(w.a);
       }},
      {"disconnect", [](World& w) { w.h.drop(w.a.conn); }},
      {"ring timeout",
       [](World& w) {
         w.ring(w.a);
         w.h.advance(45s);
       }},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    World w;
    tc.act(w);
    EXPECT_FALSE(w.h.effects().empty());
    EXPECT_FALSE(w.h.has("persist"));
  }
}

// ---------------- iceservers ----------------

TEST(IceServers, MembersGetTheProviderListAsABareArray) {
  World w;
  w.h.auto_complete = false;
  w.h.as(w.a, "iceservers", R"({"nonce":"i"})", 9);
  ASSERT_EQ(w.h.pending_ices().size(), 1u);
  EXPECT_EQ(w.h.pending_ices()[0].attendee, AttendeeId{w.a.id});
  EXPECT_THAT(w.h.events(w.a.conn), IsEmpty());
  w.h.complete(w.h.pending_ices()[0].request, IceFetched{w.h.ice_servers});
  const Msg m = w.h.only(w.a.conn);
  EXPECT_EQ(m.event, "iceservers");
  EXPECT_EQ(m.re, json::value(9));
  EXPECT_EQ(m.data, json::value(w.h.ice_servers));  // no nonce: it is an array
}

TEST(IceServers, ProviderFailureIsUnavailable) {
  World w;
  w.h.ice_fails = true;
  w.h.as(w.a, "iceservers", R"({"nonce":"i"})", 9);
  const Msg m = w.h.only(w.a.conn);
  EXPECT_EQ(m.str("code"), "unavailable");
  EXPECT_EQ(m.str("event"), "iceservers");
  EXPECT_EQ(m.at("nonce"), json::value("i"));
  EXPECT_EQ(m.re, json::value(9));
}

TEST(IceServers, RequesterGoneBeforeTheAnswerGetsNothing) {
  World w;
  w.h.auto_complete = false;
  w.h.as(w.a, "iceservers");
  const RequestId rid = w.h.pending_ices()[0].request;
  w.h.drop(w.a.conn);
  w.h.complete(rid, IceFetched{w.h.ice_servers});
  EXPECT_THAT(w.h.trace(), IsEmpty());
}

TEST(IceServers, InDevelopmentNeedNoToken) {
  EngineOptions o;
  o.development = true;
  Harness h(o);
  const Space s = h.create();
  struct Case {
    std::string name;
    json::value token;
    std::optional<AttendeeId> want_attendee;
  };
  const std::vector<Case> cases = {
      {"no token", json::value(), std::nullopt},
      {"garbage token", json::value("garbage"), std::nullopt},
      {"member token", json::value(s.owner.token), AttendeeId{s.owner.id}},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const ConnId c = h.connect();
    h.auto_complete = false;
    h.request_with(c, tc.token, "iceservers", "{}", 2);
    ASSERT_EQ(h.pending_ices().size(), 1u);
    EXPECT_EQ(h.pending_ices()[0].attendee, tc.want_attendee);
    h.complete(h.pending_ices()[0].request, IceFetched{h.ice_servers});
    EXPECT_EQ(h.only(c).event, "iceservers");
    EXPECT_EQ(h.only(c).re, json::value(2));
  }
}

TEST(IceServers, OutsideDevelopmentAStrangerNeedsAToken) {
  Harness h;
  const ConnId c = h.connect();
  h.request(c, "iceservers");
  EXPECT_EQ(h.only(c).str("code"), "token_missing");
  EXPECT_FALSE(h.has("fetch-ice"));
}

// ---------------- shutdown and stats ----------------

TEST(Shutdown, EveryConnectionGetsServerShutdownWithRetryAfter) {
  struct Case {
    int given, want;
  };
  for (const Case tc : {Case{5, 5}, Case{1, 1}, Case{0, 1}, Case{-3, 1}}) {
    SCOPED_TRACE(tc.given);
    World w;
    const ConnId stray = w.h.connect();
    w.h.drop(w.b.conn);
    w.h.shutdown(tc.given);
    for (const ConnId c : {w.s.owner.conn, w.a.conn, stray}) {
      const Msg m = w.h.only(c);
      EXPECT_EQ(m.event, "server-shutdown");
      EXPECT_TRUE(m.re.is_null());
      EXPECT_EQ(m.data, J(R"({"retryAfter":$n})", {{"$n", std::to_string(tc.want)}}));
    }
    EXPECT_THAT(w.h.events(w.b.conn), IsEmpty());
    ASSERT_EQ(w.h.trace().size(), 1u);
    EXPECT_TRUE(w.h.trace()[0].starts_with("broadcast ")) << w.h.trace()[0];
    EXPECT_TRUE(w.h.closes(w.a.conn).empty());  // net/ closes with 1012 after the drain
  }
}

TEST(Shutdown, WithNoConnectionsSendsNothing) {
  Harness h;
  h.shutdown(3);
  EXPECT_THAT(h.trace(), IsEmpty());
}

TEST(Stats, CountsConnectionsWorkspacesMembersOnlineAndCalls) {
  Harness h;
  auto stats = [&] {
    const EngineStats s = h.engine().stats();
    return std::vector<std::size_t>{s.connections, s.workspaces, s.attendees, s.online_attendees,
                                    s.calls};
  };
  using V = std::vector<std::size_t>;
  EXPECT_EQ(stats(), (V{0, 0, 0, 0, 0}));
  const ConnId stray = h.connect();
  EXPECT_EQ(stats(), (V{1, 0, 0, 0, 0}));
  const Space s = h.create();
  const Peer a = h.join(s);
  const Space t = h.create();
  EXPECT_EQ(stats(), (V{4, 2, 3, 3, 0}));
  h.as(s.owner, "ring", R"({"callee":{"id":")" + a.id + R"("},"offer":{}})");
  EXPECT_EQ(stats(), (V{4, 2, 3, 3, 1}));
  h.drop(a.conn);
  EXPECT_EQ(stats(), (V{3, 2, 3, 2, 1}));
  h.advance(30s);
  EXPECT_EQ(stats(), (V{3, 2, 2, 2, 1}));
  h.as(s.owner, "leave");
  EXPECT_EQ(stats(), (V{3, 2, 1, 1, 0}));
  h.as(t.owner, "destroy");
  EXPECT_EQ(stats(), (V{3, 1, 0, 0, 0}));
  h.drop(stray);
  EXPECT_EQ(stats(), (V{2, 1, 0, 0, 0}));
}

}  // namespace
}  // namespace ws::core::test
