// Engine tests of the workspace lifecycle (PROTOCOL.md §3, §4): create, attend, re-attend,
// leave, destroy, kick, toggles, attendees, refresh, and identity taken only from the token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string ms(std::int64_t v) {
  return std::to_string(v);
}

// ---------------- create ----------------

TEST(Create, RepliesCreatedWithTheExactShape) {
  Harness h;
  const ConnId c = h.connect(kOwnerIp);
  h.request(
      c, "create",
      R"({"workspace":{"name":"Team","avatar":"w.png"},"attendee":{"name":"Olivia","avatar":"o.png"},"nonce":"n1"})",
      7);
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "created");
  EXPECT_EQ(m.re, json::value(7));
  const std::string wid = m.str("workspace.id"), oid = m.str("attendee.id");
  EXPECT_EQ(m.data, J(R"({"workspace":{"id":"$w","name":"Team","avatar":"w.png","owner":"$o",
                          "created":$t,"token":"$inv"},
                          "attendee":{"id":"$o","name":"Olivia","avatar":"o.png","mic":true,
                                      "cam":true,"online":true},
                          "accessToken":"$tok","nonce":"n1"})",
                      {{"$w", wid},
                       {"$o", oid},
                       {"$t", ms(h.now_ms())},
                       {"$inv", m.str("workspace.token")},
                       {"$tok", m.str("accessToken")}}));
  EXPECT_NE(wid, oid);
}

TEST(Create, IdsAreUnderscoreAndIdLengthAlnumCharacters) {
  for (std::size_t len : {10u, 4u, 16u}) {
    SCOPED_TRACE(len);
    EngineOptions o;
    o.id_length = len;
    Harness h(o);
    const Space s = h.create();
    const std::regex form("_[A-Za-z0-9]{" + std::to_string(len) + "}");
    EXPECT_TRUE(std::regex_match(s.id, form)) << s.id;
    EXPECT_TRUE(std::regex_match(s.owner.id, form)) << s.owner.id;
  }
}

TEST(Create, AccessTokenAndInviteCarryTheServerAssignedIds) {
  Harness h;
  const Space s = h.create();
  const AccessClaims c = h.claims_of(s.owner.token);
  EXPECT_EQ(c.wid.value, s.id);
  EXPECT_EQ(c.aid.value, s.owner.id);
  EXPECT_TRUE(c.own);
  EXPECT_EQ(c.iat, h.now_s());
  EXPECT_EQ(c.exp, h.now_s() + 86400);
  EXPECT_FALSE(c.jti.empty());
  auto invite = h.codec().verify_invite(s.invite);
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->wid.value, s.id);
  // Neither kind of token passes for the other (PROTOCOL.md §3).
  EXPECT_FALSE(h.codec().verify_invite(s.owner.token));
  EXPECT_FALSE(h.codec().verify_access(s.invite, h.now_s()));
}

TEST(Create, TokenLifetimeFollowsTheOption) {
  EngineOptions o;
  o.access_token_ttl = 600s;
  Harness h(o);
  const Space s = h.create();
  EXPECT_EQ(h.claims_of(s.owner.token).exp, h.now_s() + 600);
}

TEST(Create, MissingOrEmptyNamesTakeTheConfiguredDefaults) {
  struct Case {
    std::string name;
    std::string data;
    std::string want_workspace, want_attendee;
  };
  const std::vector<Case> cases = {
      {"no data", "{}", "Anonymous Workspace", "Anonymous"},
      {"empty objects", R"({"workspace":{},"attendee":{}})", "Anonymous Workspace", "Anonymous"},
      {"empty names", R"({"workspace":{"name":""},"attendee":{"name":""}})", "Anonymous Workspace",
       "Anonymous"},
      {"null names", R"({"workspace":{"name":null},"attendee":{"name":null}})",
       "Anonymous Workspace", "Anonymous"},
      {"given", R"({"workspace":{"name":"W"},"attendee":{"name":"A"}})", "W", "A"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h;
    const ConnId c = h.connect();
    h.request(c, "create", tc.data);
    const Msg m = h.only(c);
    EXPECT_EQ(m.str("workspace.name"), tc.want_workspace);
    EXPECT_EQ(m.str("attendee.name"), tc.want_attendee);
    EXPECT_EQ(m.str("workspace.avatar"), "");
    EXPECT_EQ(m.str("attendee.avatar"), "");
  }
}

TEST(Create, DefaultsComeFromOptions) {
  EngineOptions o;
  o.untitled_workspace = "Room";
  o.anonymous_attendee = "Someone";
  o.default_workspace_avatar = "room.svg";
  o.default_attendee_avatar = "someone.svg";
  Harness h(o);
  const ConnId c = h.connect();
  h.request(c, "create");
  const Msg m = h.only(c);
  EXPECT_EQ(m.str("workspace.name"), "Room");
  EXPECT_EQ(m.str("workspace.avatar"), "room.svg");
  EXPECT_EQ(m.str("attendee.name"), "Someone");
  EXPECT_EQ(m.str("attendee.avatar"), "someone.svg");
  // Also for guests.
  const Space s{m.str("workspace.id"), m.str("workspace.token"), {}};
  const ConnId g = h.connect();
  h.request(g, "attend", R"({"workspace":{"token":")" + s.invite + R"("}})");
  EXPECT_EQ(h.last(g).str("attendee.name"), "Someone");
  EXPECT_EQ(h.last(g).str("attendee.avatar"), "someone.svg");
}

TEST(Create, PersistsTheWorkspaceBeforeReplying) {
  Harness h;
  const Space s = h.create();
  EXPECT_THAT(h.trace(), ElementsAre("persist put " + s.id, "send 1 created"));
  const WorkspaceRecord& r = h.store.at(s.id);
  EXPECT_EQ(r.owner.value, s.owner.id);
  EXPECT_EQ(r.name, "Team");
  EXPECT_EQ(r.created_ms, h.now_ms());
  EXPECT_EQ(r.invite, s.invite);
  EXPECT_EQ(r.pin_hash, "");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0], (AttendeeRecord{AttendeeId{s.owner.id}, "Olivia", "", true, true}));
  EXPECT_FALSE(r.call);
}

TEST(Create, RetriesAWorkspaceIdThatIsTaken) {
  Harness h;
  h.random().script = {"AAAAAAAAAA"};
  const Space first = h.create();
  EXPECT_EQ(first.id, "_AAAAAAAAAA");
  h.random().script = {"AAAAAAAAAA", "BBBBBBBBBB"};
  const Space second = h.create();
  EXPECT_EQ(second.id, "_BBBBBBBBBB");
}

TEST(Create, OnAConnectionBoundToAMemberIsConflict) {
  Harness h;
  const Space s = h.create();
  const Peer g = h.join(s);
  for (const ConnId c : {s.owner.conn, g.conn}) {
    h.request(c, "create", R"({"nonce":"n"})");
    EXPECT_EQ(h.only(c).data,
              J(R"({"code":"conflict","message":"$m","event":"create","nonce":"n"})",
                {{"$m", h.only(c).str("message")}}));
    EXPECT_FALSE(h.has("persist"));
  }
  EXPECT_EQ(h.engine().stats().workspaces, 1u);
}

TEST(Create, AfterLeavingTheConnectionMayCreateAgain) {
  Harness h;
  const Space s = h.create();
  h.as(s.owner, "leave");
  h.request(s.owner.conn, "create");
  EXPECT_EQ(h.only(s.owner.conn).event, "created");
  EXPECT_EQ(h.engine().stats().workspaces, 2u);
}

TEST(Create, BadFieldsAreRefusedNamingTheField) {
  struct Case {
    std::string name, data, code, field;
  };
  const std::vector<Case> cases = {
      {"name type", R"({"workspace":{"name":5}})", "bad_request", "workspace.name"},
      {"name length", R"({"workspace":{"name":")" + std::string(65, 'x') + R"("}})", "too_large",
       "workspace.name"},
      {"pin length", R"({"workspace":{"pin":")" + std::string(65, '1') + R"("}})", "too_large",
       "workspace.pin"},
      {"avatar size", R"({"attendee":{"avatar":")" + std::string(16385, 'a') + R"("}})",
       "too_large", "attendee.avatar"},
      {"attendee not object", R"({"attendee":"x"})", "bad_request", "attendee"},
      {"nonce", R"({"nonce":{}})", "bad_request", "nonce"},
      {"data not an object", "[1]", "bad_request", "data"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h;
    const ConnId c = h.connect();
    h.request(c, "create", tc.data);
    const Msg m = h.only(c);
    EXPECT_EQ(m.event, "alert");
    EXPECT_EQ(m.str("code"), tc.code);
    EXPECT_EQ(m.str("field"), tc.field);
    EXPECT_EQ(m.str("event"), "create");
    EXPECT_EQ(h.engine().stats().workspaces, 0u);
  }
}

// ---------------- attend ----------------

TEST(Attend, RepliesAttendanceGrantedAndTellsTheOthers) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const ConnId c = h.connect();
  h.request(c, "attend",
            R"({"workspace":{"token":")" + s.invite +
                R"("},"attendee":{"name":"Bob","avatar":"b.png"},"nonce":42})",
            "x-1");
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "attendance-granted");
  EXPECT_EQ(m.re, json::value("x-1"));
  const std::string bob = m.str("attendee.id");
  EXPECT_EQ(m.data,
            J(R"({"workspace":{"id":"$w","name":"Team","avatar":"","owner":"$o","created":$t,
                               "token":"$inv","call":null},
                  "attendee":{"id":"$b","name":"Bob","avatar":"b.png","mic":true,"cam":true,"online":true},
                  "attendees":{
                    "$o":{"id":"$o","name":"Olivia","avatar":"","mic":true,"cam":true,"online":true},
                    "$a":{"id":"$a","name":"Alice","avatar":"","mic":true,"cam":true,"online":true},
                    "$b":{"id":"$b","name":"Bob","avatar":"b.png","mic":true,"cam":true,"online":true}},
                  "accessToken":"$tok","nonce":42})",
              {{"$w", s.id},
               {"$o", s.owner.id},
               {"$a", a.id},
               {"$b", bob},
               {"$t", ms(h.store.at(s.id).created_ms)},
               {"$inv", s.invite},
               {"$tok", m.str("accessToken")}}));
  const json::value pushed =
      J(R"({"id":"$b","name":"Bob","avatar":"b.png","mic":true,"cam":true,"online":true})",
        {{"$b", bob}});
  for (const ConnId other : {s.owner.conn, a.conn}) {
    const Msg p = h.only(other);
    EXPECT_EQ(p.event, "attend");
    EXPECT_EQ(p.data, pushed);
    EXPECT_TRUE(p.re.is_null());
  }
  const AccessClaims claims = h.claims_of(m.str("accessToken"));
  EXPECT_EQ(claims.wid.value, s.id);
  EXPECT_EQ(claims.aid.value, bob);
  EXPECT_FALSE(claims.own);
}

TEST(Attend, PersistsBeforeReplyingAndPushing) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  EXPECT_THAT(h.trace(),
              ElementsAre("persist member " + s.id, "send 2 attendance-granted", "send 1 attend"));
  EXPECT_EQ(h.store.at(s.id).members.size(), 2u);
  EXPECT_EQ(h.store.at(s.id).members[1].id.value, a.id);
}

TEST(Attend, PayloadIdsAreIgnored) {
  Harness h;
  const Space s = h.create();
  const ConnId c = h.connect();
  h.request(c, "attend",
            R"({"workspace":{"token":")" + s.invite + R"(","id":"_other"},"attendee":{"id":")" +
                s.owner.id + R"(","name":"Eve"}})");
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "attendance-granted");
  EXPECT_NE(m.str("attendee.id"), s.owner.id);
  EXPECT_EQ(m.str("workspace.id"), s.id);
  EXPECT_FALSE(h.claims_of(m.str("accessToken")).own);
}

TEST(Attend, OnAConnectionBoundToACurrentMemberIsConflict) {
  Harness h;
  const Space s = h.create();
  const Space other = h.create();
  const Peer g = h.join(s);
  struct Case {
    std::string name;
    ConnId conn;
    const Space* target;
  };
  const std::vector<Case> cases = {
      {"owner, own workspace", s.owner.conn, &s},
      {"guest, own workspace", g.conn, &s},
      {"guest, another workspace", g.conn, &other},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    h.request(tc.conn, "attend", Harness::attend_data(*tc.target, "again"));
    EXPECT_EQ(h.only(tc.conn).str("code"), "conflict");
    EXPECT_EQ(h.only(tc.conn).str("event"), "attend");
    EXPECT_FALSE(h.has("persist"));
  }
  EXPECT_EQ(h.engine().stats().attendees, 3u);
}

TEST(Attend, BadFieldsAreRefusedAfterTheInvite) {
  Harness h;
  const Space s = h.create();
  const ConnId c = h.connect();
  h.request(c, "attend", R"({"workspace":{"token":")" + s.invite + R"("},"attendee":{"name":7}})");
  EXPECT_EQ(h.only(c).str("code"), "bad_request");
  EXPECT_EQ(h.only(c).str("field"), "attendee.name");
  h.request(c, "attend", R"({"workspace":{"token":"garbage"},"attendee":{"name":7}})");
  EXPECT_EQ(h.only(c).str("code"), "token_invalid");
  h.request(c, "attend", R"({"attendee":{"name":7}})");
  EXPECT_EQ(h.only(c).str("code"), "token_missing");
  EXPECT_EQ(h.engine().stats().attendees, 1u);
}

TEST(Attend, InviteErrorsFollowTheOrderOfChecks) {
  Harness h;
  const Space s = h.create();
  const Space gone = h.create();
  h.as(gone.owner, "destroy");
  auth::JwtCodec other_secret("another-secret");
  struct Case {
    std::string name;
    std::string data;
    std::string want;  // alert code, or the reply event
  };
  const std::vector<Case> cases = {
      {"no workspace", "{}", "token_missing"},
      {"no token", R"({"workspace":{}})", "token_missing"},
      {"null token", R"({"workspace":{"token":null}})", "token_missing"},
      {"number token", R"({"workspace":{"token":5}})", "token_invalid"},
      {"garbage", R"({"workspace":{"token":"abc.def.ghi"}})", "token_invalid"},
      {"access token as invite", R"({"workspace":{"token":")" + s.owner.token + R"("}})",
       "token_invalid"},
      {"other secret",
       R"({"workspace":{"token":")" + other_secret.sign_invite({WorkspaceId{s.id}, 1}) + R"("}})",
       "token_invalid"},
      {"destroyed workspace", Harness::attend_data(gone, "x"), "destroyed"},
      {"unknown workspace",
       R"({"workspace":{"token":")" + h.codec().sign_invite({WorkspaceId{"_nowhere"}, 1}) +
           R"("}})",
       "destroyed"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const ConnId c = h.connect();
    h.request(c, "attend", tc.data);
    const Msg m = h.only(c);
    EXPECT_EQ(m.event == "alert" ? m.str("code") : m.event, tc.want);
    EXPECT_THAT(h.closes(c), IsEmpty());
  }
}

TEST(Attend, DestroyedReplyNamesTheWorkspace) {
  Harness h;
  const Space s = h.create();
  h.as(s.owner, "destroy");
  const ConnId c = h.connect();
  h.request(c, "attend", R"({"workspace":{"token":")" + s.invite + R"("},"nonce":"z"})", 3);
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "destroyed");
  EXPECT_EQ(m.re, json::value(3));
  EXPECT_EQ(m.data, J(R"({"workspace":{"id":"$w"},"nonce":"z"})", {{"$w", s.id}}));
}

// ---------------- re-attend ----------------

TEST(ReAttend, RepliesWithTheAttendanceShapeAndThePresentedToken) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.drop(a.conn);
  const ConnId c = h.connect();
  h.request_with(c, json::value(a.token), "re-attend", R"({"nonce":"r"})", 9);
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "re-attendance-granted");
  EXPECT_EQ(m.re, json::value(9));
  EXPECT_EQ(m.data,
            J(R"({"workspace":{"id":"$w","name":"Team","avatar":"","owner":"$o","created":$t,
                               "token":"$inv","call":null},
                  "attendee":{"id":"$a","name":"Alice","avatar":"","mic":true,"cam":true,"online":true},
                  "attendees":{
                    "$o":{"id":"$o","name":"Olivia","avatar":"","mic":true,"cam":true,"online":true},
                    "$a":{"id":"$a","name":"Alice","avatar":"","mic":true,"cam":true,"online":true}},
                  "accessToken":"$tok","nonce":"r"})",
              {{"$w", s.id},
               {"$o", s.owner.id},
               {"$a", a.id},
               {"$t", ms(h.store.at(s.id).created_ms)},
               {"$inv", s.invite},
               {"$tok", a.token}}));
}

TEST(ReAttend, AnAttendeeTheServerNoLongerKnowsIsRevoked) {
  // Neither a member nor a former member (kicked, or forgotten): a valid token gets nothing.
  Harness h;
  const Space s = h.create();
  AccessClaims c = h.claims_of(s.owner.token);
  c.aid = AttendeeId{"_forgotten0"};
  c.own = false;
  const ConnId conn = h.connect();
  h.request_with(conn, json::value(h.sign(c)), "re-attend");
  EXPECT_EQ(h.only(conn).str("code"), "token_revoked");
  EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
  EXPECT_FALSE(h.has("persist"));
}

TEST(ReAttend, OnAConnectionBoundToAnotherCurrentMemberIsConflict) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.request_with(a.conn, json::value(b.token), "re-attend");
  EXPECT_EQ(h.only(a.conn).str("code"), "conflict");
  EXPECT_EQ(h.only(a.conn).str("event"), "re-attend");
  EXPECT_THAT(h.events(b.conn), IsEmpty());
  EXPECT_THAT(h.closes(b.conn), IsEmpty());
  // Re-attending as oneself on one's own connection is fine.
  h.as(a, "re-attend");
  EXPECT_EQ(h.only(a.conn).event, "re-attendance-granted");
}

TEST(ReAttend, OnAConnectionWhoseWorkspaceWasDestroyedIsAllowed) {
  Harness h;
  const Space s = h.create();
  const Space t = h.create();
  const Peer g = h.join(t);
  h.as(t.owner, "destroy");
  // g's connection stays open and unbound: it may become another workspace's member.
  h.request_with(g.conn, json::value(s.owner.token), "re-attend");
  EXPECT_EQ(h.last(g.conn).event, "re-attendance-granted");
}

TEST(ReAttend, OwnerKeepsOwnershipAfterLeavingAndComingBack) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(s.owner, "leave");
  EXPECT_EQ(h.only(s.owner.conn).event, "left");
  const Peer back = h.reattend(s.owner);
  const Msg m = h.only(back.conn);
  EXPECT_EQ(m.event, "re-attendance-granted");
  EXPECT_EQ(m.str("workspace.owner"), s.owner.id);
  EXPECT_EQ(h.only(a.conn).event, "attend");
  h.as(back, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  EXPECT_EQ(h.only(back.conn).event, "kicked");
}

// ---------------- leave ----------------

TEST(Leave, RepliesLeftAndTellsTheOthers) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice", std::nullopt);
  const Peer b = h.join(s, "Bob");
  h.as(a, "leave", R"({"nonce":"l"})", 4);
  EXPECT_EQ(h.only(a.conn).event, "left");
  EXPECT_EQ(h.only(a.conn).re, json::value(4));
  EXPECT_EQ(h.only(a.conn).data, J(R"({"workspace":{"id":"$w"},"nonce":"l"})", {{"$w", s.id}}));
  const json::value gone = J(R"({"id":"$a","name":"Alice","avatar":""})", {{"$a", a.id}});
  for (const ConnId c : {s.owner.conn, b.conn}) {
    EXPECT_EQ(h.only(c).event, "leave");
    EXPECT_EQ(h.only(c).data, gone);
  }
  EXPECT_LT(h.position("persist"), h.position("send " + std::to_string(a.conn.value) + " left"));
  EXPECT_THAT(h.closes(a.conn), IsEmpty());
  const WorkspaceRecord& r = h.store.at(s.id);
  EXPECT_EQ(r.members.size(), 2u);
  ASSERT_EQ(r.former.size(), 1u);
  EXPECT_EQ(r.former[0].id.value, a.id);
}

TEST(Leave, WorkspaceSurvivesTheOwnerLeaving) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.as(s.owner, "leave");
  EXPECT_EQ(h.only(a.conn).event, "leave");
  h.as(a, "attendees");
  EXPECT_EQ(keys(h.only(a.conn).at("attendees")), std::vector<std::string>{a.id});
  const Peer b = h.join(s, "Bob");
  EXPECT_EQ(h.engine().stats().workspaces, 1u);
  EXPECT_EQ(h.engine().stats().attendees, 2u);
  (void)b;
}

// ---------------- destroy ----------------

TEST(Destroy, EveryMemberGetsDestroyedAndTheConnectionsStayOpen) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.drop(b.conn);  // offline within grace: its timer is cancelled
  h.as(s.owner, "destroy", R"({"nonce":"d"})", 5);
  const Msg reply = h.only(s.owner.conn);
  EXPECT_EQ(reply.event, "destroyed");
  EXPECT_EQ(reply.re, json::value(5));
  EXPECT_EQ(reply.data, J(R"({"workspace":{"id":"$w"},"nonce":"d"})", {{"$w", s.id}}));
  EXPECT_EQ(h.only(a.conn).event, "destroyed");
  EXPECT_EQ(h.only(a.conn).data, J(R"({"workspace":{"id":"$w"}})", {{"$w", s.id}}));
  EXPECT_TRUE(h.only(a.conn).re.is_null());
  EXPECT_EQ(h.trace().front(), "persist delete " + s.id);
  EXPECT_TRUE(h.has("cancel"));
  EXPECT_THAT(h.closes(s.owner.conn), IsEmpty());
  EXPECT_THAT(h.closes(a.conn), IsEmpty());
  EXPECT_TRUE(h.store.empty());
  EXPECT_TRUE(h.armed().empty());
  const EngineStats st = h.engine().stats();
  EXPECT_EQ(st.workspaces, 0u);
  EXPECT_EQ(st.attendees, 0u);
  EXPECT_EQ(st.connections, 2u);  // the owner's and Alice's, still open
}

TEST(Destroy, AllTokensAreDeadAndConnectionsAreUnbound) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(s.owner, "destroy");
  for (const Peer& p : {s.owner, a}) {
    for (const char* event : {"attendees", "re-attend", "leave", "refresh"}) {
      SCOPED_TRACE(event);
      h.as(p, event);
      EXPECT_EQ(h.only(p.conn).event, "destroyed");
      EXPECT_EQ(h.only(p.conn).data, J(R"({"workspace":{"id":"$w"}})", {{"$w", s.id}}));
    }
  }
  // Unbound: both may create or attend elsewhere.
  h.request(a.conn, "create");
  EXPECT_EQ(h.only(a.conn).event, "created");
  const Space t{h.only(a.conn).str("workspace.id"), h.only(a.conn).str("workspace.token"), {}};
  h.request(s.owner.conn, "attend", Harness::attend_data(t, "Olivia"));
  EXPECT_EQ(h.last(s.owner.conn).event, "attendance-granted");
}

TEST(Destroy, LateTimersOfADestroyedWorkspaceDoNothing) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(a.conn);
  const TimerId grace{h.armed().begin()->first};
  h.as(s.owner, "destroy");
  h.fire(grace);
  EXPECT_THAT(h.trace(), IsEmpty());
}

// ---------------- kick ----------------

TEST(Kick, EveryoneGetsKickedAndTheTargetIsClosed) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("},"nonce":"k"})", 11);
  const json::value who = J(R"({"id":"$a"})", {{"$a", a.id}});
  EXPECT_EQ(h.only(s.owner.conn).event, "kicked");
  EXPECT_EQ(h.only(s.owner.conn).re, json::value(11));
  EXPECT_EQ(h.only(s.owner.conn).data, J(R"({"id":"$a","nonce":"k"})", {{"$a", a.id}}));
  EXPECT_EQ(h.only(b.conn).event, "kicked");
  EXPECT_EQ(h.only(b.conn).data, who);
  EXPECT_EQ(h.only(a.conn).event, "kicked");
  EXPECT_EQ(h.only(a.conn).data, who);
  EXPECT_THAT(h.closes(a.conn), ElementsAre(4003));
  EXPECT_THAT(h.closes(b.conn), IsEmpty());
  // Persist before the reply; the target's message before its close; no `leave`.
  EXPECT_LT(h.position("persist"), h.position("send 1 kicked"));
  EXPECT_LT(h.position("send 2 kicked"), h.position("close 2"));
  const WorkspaceRecord& r = h.store.at(s.id);
  EXPECT_EQ(r.members.size(), 2u);  // the kicked one is in neither list: revoked
  EXPECT_TRUE(r.former.empty());
}

TEST(Kick, KickedTokenIsRevoked) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).str("code"), "token_revoked");
  h.as(a, "attendees");
  EXPECT_EQ(h.only(a.conn).str("code"), "token_revoked");
  // The kicked connection is unbound: its later disconnect changes nothing.
  h.drop(a.conn);
  EXPECT_THAT(h.trace(), IsEmpty());
}

TEST(Kick, TargetsOtherThanACurrentMember) {
  struct Case {
    std::string name;
    std::function<std::string(Harness&, const Space&)> target;  // returns the target id
    std::string want;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"owner", [](Harness&, const Space& s) { return s.owner.id; }, "forbidden", ""},
      {"unknown", [](Harness&, const Space&) { return std::string("_nobody0000"); }, "not_found",
       "attendee.id"},
      {"member of another workspace", [](Harness& h, const Space&) { return h.create().owner.id; },
       "not_found", "attendee.id"},
      {"already kicked",
       [](Harness& h, const Space& s) {
         const Peer p = h.join(s);
         h.as(s.owner, "kick", R"({"attendee":{"id":")" + p.id + R"("}})");
         return p.id;
       },
       "not_found", "attendee.id"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h;
    const Space s = h.create();
    const std::string target = tc.target(h, s);
    h.as(s.owner, "kick", R"({"attendee":{"id":")" + target + R"("}})");
    const Msg m = h.only(s.owner.conn);
    EXPECT_EQ(m.str("code"), tc.want);
    EXPECT_EQ(m.str("field"), tc.field);
    EXPECT_FALSE(h.has("persist"));
  }
}

TEST(Kick, FormerMembersAreRevokedAndAnnouncedLikeAnyKick) {
  for (const auto& tc : former_member_cases()) {
    SCOPED_TRACE(tc.name);
    Harness h;
    const Space s = h.create();
    const Peer a = h.join(s, "Alice");
    const Peer b = h.join(s, "Bob");
    tc.make_former(h, a);
    h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
    EXPECT_EQ(h.only(s.owner.conn).event, "kicked");
    EXPECT_EQ(h.only(b.conn).event, "kicked");
    EXPECT_EQ(h.only(b.conn).data, J(R"({"id":"$a"})", {{"$a", a.id}}));
    EXPECT_TRUE(h.has("persist"));
    const WorkspaceRecord& r = h.store.at(s.id);
    EXPECT_EQ(r.members.size(), 2u);  // owner and Bob; Alice is in neither list: revoked
    EXPECT_TRUE(r.former.empty());
    EXPECT_EQ(h.only(h.reattend(a).conn).str("code"), "token_revoked");
  }
}

TEST(Kick, OfflineMemberLosesItsGraceTimerAndNothingIsClosed) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.drop(a.conn);
  ASSERT_EQ(h.armed().size(), 1u);
  h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  EXPECT_TRUE(h.has("cancel"));
  EXPECT_TRUE(h.armed().empty());
  EXPECT_THAT(h.closes(a.conn), IsEmpty());
  EXPECT_THAT(h.events(a.conn), IsEmpty());
  h.advance(60s);
  EXPECT_THAT(h.trace(), IsEmpty());
}

// ---------------- toggles, attendees, refresh ----------------

TEST(Toggle, StoresTheStateAndTellsTheOthers) {
  struct Case {
    std::string event;
    std::string field;  // in the attendee object
  };
  for (const Case& tc : {Case{"mic-toggle", "mic"}, Case{"cam-toggle", "cam"}}) {
    SCOPED_TRACE(tc.event);
    Harness h;
    const Space s = h.create();
    const Peer a = h.join(s, "Alice");
    const Peer b = h.join(s, "Bob");
    h.as(a, tc.event, R"({"state":false,"nonce":"t"})", 3);
    EXPECT_EQ(h.only(a.conn).event, "ok");
    EXPECT_EQ(h.only(a.conn).data, J(R"({"event":"$e","nonce":"t"})", {{"$e", tc.event}}));
    const json::value pushed = J(R"({"attendee":{"id":"$a"},"state":false})", {{"$a", a.id}});
    for (const ConnId c : {s.owner.conn, b.conn}) {
      EXPECT_EQ(h.only(c).event, tc.event);
      EXPECT_EQ(h.only(c).data, pushed);
    }
    EXPECT_LT(h.position("persist"), h.position("send 2 ok"));
    // Late joiners see it; the other flag is untouched.
    const Peer late = h.join(s, "Late");
    const Msg granted = h.last(late.conn);
    const json::value& listed = at(granted.at("attendees"), a.id);
    EXPECT_EQ(at(listed, tc.field), json::value(false));
    EXPECT_EQ(at(listed, tc.field == "mic" ? "cam" : "mic"), json::value(true));
    h.as(a, tc.event, R"({"state":true})");
    EXPECT_EQ(h.only(s.owner.conn).at("state"), json::value(true));
  }
}

TEST(Attendees, RepliesTheMapOfCurrentMembersWithOnlineFlags) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  const Peer c = h.join(s, "Carol");
  h.as(c, "leave");
  h.drop(b.conn);
  h.as(a, "mic-toggle", R"({"state":false})");
  h.as(a, "attendees", R"({"nonce":"q"})", 2);
  const Msg m = h.only(a.conn);
  EXPECT_EQ(m.event, "attendees");
  EXPECT_EQ(m.re, json::value(2));
  EXPECT_EQ(m.data, J(R"({"attendees":{
                 "$o":{"id":"$o","name":"Olivia","avatar":"","mic":true,"cam":true,"online":true},
                 "$a":{"id":"$a","name":"Alice","avatar":"","mic":false,"cam":true,"online":true},
                 "$b":{"id":"$b","name":"Bob","avatar":"","mic":true,"cam":true,"online":false}},
                 "nonce":"q"})",
                      {{"$o", s.owner.id}, {"$a", a.id}, {"$b", b.id}}));
}

TEST(Refresh, IssuesAFreshTokenAndTheOldOneStaysValid) {
  Harness h;
  const Space s = h.create();
  const Peer a = h.join(s);
  h.advance(100s);
  h.as(a, "refresh", R"({"nonce":"f"})", 8);
  const Msg m = h.only(a.conn);
  EXPECT_EQ(m.event, "token-refreshed");
  EXPECT_EQ(m.re, json::value(8));
  EXPECT_EQ(keys(m.data), (std::vector<std::string>{"accessToken", "nonce"}));
  const std::string fresh = m.str("accessToken");
  const AccessClaims old_c = h.claims_of(a.token), new_c = h.claims_of(fresh);
  EXPECT_EQ(new_c.wid, old_c.wid);
  EXPECT_EQ(new_c.aid, old_c.aid);
  EXPECT_EQ(new_c.own, old_c.own);
  EXPECT_NE(new_c.jti, old_c.jti);
  EXPECT_EQ(new_c.iat, h.now_s());
  EXPECT_EQ(new_c.exp, h.now_s() + 86400);
  EXPECT_FALSE(h.has("persist"));
  for (const std::string& tok : {a.token, fresh}) {
    h.request_with(a.conn, json::value(tok), "attendees");
    EXPECT_EQ(h.only(a.conn).event, "attendees");
  }
  // The owner's refreshed token is still an owner's.
  h.as(s.owner, "refresh");
  EXPECT_TRUE(h.claims_of(h.only(s.owner.conn).str("accessToken")).own);
}

// ---------------- identity comes from the token ----------------

TEST(Spoofing, PayloadIdsNeverChangeWhoActs) {
  Harness h;
  const Space s = h.create();
  const Space t = h.create();
  const Peer a = h.join(s, "Alice");
  const Peer b = h.join(s, "Bob");
  const std::string as_owner = R"("attendee":{"id":")" + s.owner.id + R"("},"workspace":{"id":")" +
                               t.id + R"("},"caller":{"id":")" + s.owner.id + R"("})";

  h.as(a, "mic-toggle", "{" + as_owner + R"(,"state":false})");
  EXPECT_EQ(h.only(b.conn).at("attendee.id"), json::value(a.id));
  EXPECT_FALSE(h.store.at(s.id).members[1].mic);  // Alice's, not the owner's
  EXPECT_TRUE(h.store.at(s.id).members[0].mic);

  h.as(a, "negotiation",
       R"({"attendee":{"id":")" + b.id + R"("},"broadcaster":{"id":")" + s.owner.id +
           R"("},"message":{"sdp":"x"}})");
  EXPECT_EQ(h.only(b.conn).at("attendee.id"), json::value(a.id));

  h.as(a, "icecandidate",
       R"({"attendee":{"id":")" + b.id + R"("},"broadcaster":{"id":")" + s.owner.id +
           R"("},"candidate":{}})");
  EXPECT_EQ(h.only(b.conn).at("attendee.id"), json::value(a.id));
  EXPECT_EQ(h.only(b.conn).at("broadcaster.id"), json::value(a.id));

  h.as(a, "kick", R"({"attendee":{"id":")" + b.id + R"("},"own":true})");
  EXPECT_EQ(h.only(a.conn).str("code"), "forbidden");

  h.as(a, "destroy", "{" + as_owner + "}");
  EXPECT_EQ(h.only(a.conn).str("code"), "forbidden");
  EXPECT_EQ(h.engine().stats().workspaces, 2u);

  h.as(a, "leave", "{" + as_owner + "}");
  EXPECT_EQ(h.only(a.conn).at("workspace.id"), json::value(s.id));
  EXPECT_EQ(h.only(s.owner.conn).at("id"), json::value(a.id));
  EXPECT_EQ(h.store.at(s.id).members.size(), 2u);
  EXPECT_EQ(h.store.at(t.id).members.size(), 1u);
}

}  // namespace
}  // namespace ws::core::test
