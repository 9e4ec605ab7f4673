// Engine tests of PROTOCOL.md §2's order of checks for every authenticated event: token present
// -> valid -> not expired -> not revoked -> workspace exists -> bound member -> role -> fields
// -> targets; the first failure wins, changes nothing and is the only reply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::IsEmpty;

/// One authenticated event with a payload that passes the field checks, one that fails them
/// (and the alert that failure gives), and whether only the owner may send it.
struct EventCase {
  std::string event;
  std::string valid;  // data; "$target" and "$owner" are member ids
  std::string bad;
  std::string bad_code, bad_field;
  bool owner_only = false;
};

const std::vector<EventCase>& all_events() {
  static const std::vector<EventCase> events = {
      {"iceservers", "{}", R"({"nonce":[1]})", "bad_request", "nonce"},
      {"re-attend", "{}", R"({"nonce":[1]})", "bad_request", "nonce"},
      {"leave", "{}", R"({"nonce":true})", "bad_request", "nonce"},
      {"destroy", "{}", R"({"nonce":{"a":1}})", "bad_request", "nonce", true},
      {"kick", R"({"attendee":{"id":"$target"}})", R"({"attendee":{"id":5}})", "bad_request",
       "attendee.id", true},
      {"ring", R"({"callee":{"id":"$target"},"offer":{"sdp":"o"}})",
       R"({"callee":{"id":"$target"}})", "bad_request", "offer", true},
      {"answer", R"({"caller":{"id":"$owner"},"answer":{"sdp":"a"},"call":{"id":"_c"}})",
       R"({"caller":{"id":"$owner"},"answer":{"sdp":"a"}})", "bad_request", "call.id"},
      {"busy", R"({"call":{"id":"_c"}})", R"({"call":"_c"})", "bad_request", "call"},
      {"hangup", "{}", R"({"call":{"id":""}})", "bad_request", "call.id", true},
      {"icecandidate", R"({"attendee":{"id":"$target"},"candidate":{"c":1}})",
       R"({"attendee":{"id":"$target"}})", "bad_request", "candidate"},
      {"negotiation", R"({"attendee":{"id":"$target"},"message":{"m":1}})",
       R"({"attendee":{},"message":{"m":1}})", "bad_request", "attendee.id"},
      {"mic-toggle", R"({"state":true})", R"({"state":"on"})", "bad_request", "state"},
      {"cam-toggle", R"({"state":false})", R"({"state":1})", "bad_request", "state"},
      {"attendees", "{}", R"({"nonce":1.5})", "bad_request", "nonce"},
      {"refresh", "{}", R"({"nonce":")" + std::string(65, 'n') + R"("})", "bad_request", "nonce"},
  };
  return events;
}

/// Capacity 10 so all fit; a burst large enough for every case sent at one instant (the
/// message rate comes before every check and has tests of its own).
EngineOptions world_options() {
  EngineOptions o = options_with(10);
  o.messages_burst = 1e6;
  return o;
}

/// A workspace with members in every state the checks distinguish.
struct World {
  Harness h{world_options()};
  Space s;
  Peer guest, target, kicked, left, expired;
  Space gone;
  Peer gone_guest;
  ConnId stray;

  World() {
    s = h.create();
    guest = h.join(s, "Gina");
    target = h.join(s, "Tom");
    kicked = h.join(s, "Kim");
    left = h.join(s, "Leo");
    expired = h.join(s, "Eve");
    gone = h.create();
    gone_guest = h.join(gone, "Gus");
    h.as(gone.owner, "destroy");
    h.as(s.owner, "kick", R"({"attendee":{"id":")" + kicked.id + R"("}})");
    h.as(left, "leave");
    h.drop(expired.conn);
    h.advance(30s);
    stray = h.connect();
  }

  std::string data(const std::string& text) const {
    return expand(text, {{"$target", target.id}, {"$owner", s.owner.id}});
  }

  /// Sends `event` with `token` (nullopt: no accessToken key at all) and nonce "N".
  void send(ConnId c, std::optional<json::value> token, const std::string& event,
            const std::string& data_text, json::value id = 7) {
    json::value d = json::parse(data(data_text));
    if (token) d.as_object()["accessToken"] = *token;
    if (!d.as_object().contains("nonce")) d.as_object()["nonce"] = "N";
    h.send(c, Harness::frame(event, std::move(d), std::move(id)));
  }

  AccessClaims guest_claims() const { return h.claims_of(guest.token); }
};

std::string b64(std::string_view s) {
  return auth::base64url_encode(s);
}

/// The guest's token with its payload swapped for `payload` (signature kept).
std::string with_payload(const std::string& token, const std::string& payload) {
  const auto a = token.find('.'), b = token.rfind('.');
  return token.substr(0, a) + "." + b64(payload) + token.substr(b);
}

/// Expects `c`'s only message (and the action's only effect) to be the alert `code` for `event`.
void expect_only_alert(const World& w, ConnId c, const std::string& event, const std::string& code,
                       bool nonce_echoed = true) {
  const Msg m = w.h.only(c);
  EXPECT_EQ(m.event, "alert");
  EXPECT_EQ(m.str("code"), code);
  EXPECT_EQ(m.str("event"), event);
  EXPECT_FALSE(m.str("message").empty());
  EXPECT_EQ(m.re, json::value(7));
  if (nonce_echoed) {
    EXPECT_EQ(m.at("nonce"), json::value("N"));
  }
  EXPECT_EQ(w.h.effects().size(), 1u) << "an error changes nothing and sends nothing else";
}

// ---------------- token errors, before anything else ----------------

TEST(AuthOrder, EveryBadTokenGivesItsTokenErrorForEveryEventEvenWithBadFields) {
  World w;
  const std::string tok = w.guest.token;
  AccessClaims past = w.guest_claims();
  past.exp = w.h.now_s() - 1;
  AccessClaims now = w.guest_claims();
  now.exp = w.h.now_s();
  AccessClaims kicked_past = w.h.claims_of(w.kicked.token);
  kicked_past.exp = w.h.now_s() - 100;
  const std::string forged = expand(
      R"({"typ":"access","wid":"$w","aid":"$a","own":true,"iat":1,"exp":9999999999,"jti":"x"})",
      {{"$w", w.s.id}, {"$a", w.guest.id}});
  std::string bad_sig = tok;  // one signature character changed, still canonical base64url
  char& flipped = bad_sig[bad_sig.size() - 5];
  flipped = flipped == 'A' ? 'B' : 'A';

  struct Case {
    std::string name;
    std::optional<json::value> token;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"absent", std::nullopt, "token_missing"},
      {"null", json::value(nullptr), "token_missing"},
      {"number", json::value(42), "token_invalid"},
      {"object", json::value(json::object{{"t", tok}}), "token_invalid"},
      {"empty string", json::value(""), "token_invalid"},
      {"garbage", json::value("not-a-jwt"), "token_invalid"},
      {"three garbage parts", json::value("a.b.c"), "token_invalid"},
      {"tampered payload (own:true)", json::value(with_payload(tok, forged)), "token_invalid"},
      {"tampered signature", json::value(bad_sig), "token_invalid"},
      {"alg none", json::value(b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(forged) + "."),
       "token_invalid"},
      {"other secret", json::value(auth::JwtCodec("other").sign_access(w.guest_claims())),
       "token_invalid"},
      {"invite as access", json::value(w.s.invite), "token_invalid"},
      {"expired", json::value(w.h.sign(past)), "token_expired"},
      {"expiring this second", json::value(w.h.sign(now)), "token_expired"},
      {"revoked", json::value(w.kicked.token), "token_revoked"},
      {"revoked and expired", json::value(w.h.sign(kicked_past)), "token_expired"},
  };
  for (const auto& ev : all_events()) {
    for (const auto& tc : cases) {
      SCOPED_TRACE(ev.event + " / " + tc.name);
      w.send(w.guest.conn, tc.token, ev.event, ev.valid);
      expect_only_alert(w, w.guest.conn, ev.event, tc.want);
      w.send(w.guest.conn, tc.token, ev.event, ev.bad);
      expect_only_alert(w, w.guest.conn, ev.event, tc.want, /*nonce_echoed=*/false);
    }
  }
  EXPECT_EQ(w.h.engine().stats().attendees, 3u);  // owner, guest, target: nothing changed
}

TEST(AuthOrder, DataThatIsNotAnObjectStillReportsTheMissingTokenFirst) {
  World w;
  for (const auto& ev : all_events()) {
    SCOPED_TRACE(ev.event);
    w.h.send(w.guest.conn, R"({"event":")" + ev.event + R"(","data":[1,2],"id":7})");
    expect_only_alert(w, w.guest.conn, ev.event, "token_missing", false);
  }
}

TEST(AuthOrder, GoneWorkspaceRepliesDestroyedForEveryEvent) {
  World w;
  AccessClaims nowhere = w.guest_claims();
  nowhere.wid = WorkspaceId{"_nowhere000"};
  struct Case {
    std::string name;
    std::string token;
    std::string wid;
  };
  const std::vector<Case> cases = {
      {"destroyed", w.gone_guest.token, w.gone.id},
      {"destroyed, owner", w.gone.owner.token, w.gone.id},
      {"never existed", w.h.sign(nowhere), "_nowhere000"},
  };
  for (const auto& ev : all_events()) {
    for (const auto& tc : cases) {
      for (const auto& data : {ev.valid, ev.bad}) {
        SCOPED_TRACE(ev.event + " / " + tc.name + " / " + data);
        w.send(w.guest.conn, json::value(tc.token), ev.event, data);
        const Msg m = w.h.only(w.guest.conn);
        EXPECT_EQ(m.event, "destroyed");
        EXPECT_EQ(m.re, json::value(7));
        EXPECT_EQ(m.at("workspace"), J(R"({"id":"$w"})", {{"$w", tc.wid}}));
        EXPECT_EQ(w.h.effects().size(), 1u);
      }
    }
  }
}

// ---------------- membership and binding ----------------

TEST(AuthOrder, NonMembersAndUnboundConnectionsAreForbiddenEvenWithBadFields) {
  World w;
  Peer owner_on_guest_conn = w.s.owner;
  owner_on_guest_conn.conn = w.guest.conn;
  Peer guest_on_stray = w.guest;
  guest_on_stray.conn = w.stray;
  Peer guest_on_target_conn = w.guest;
  guest_on_target_conn.conn = w.target.conn;
  Peer expired_on_stray = w.expired;
  expired_on_stray.conn = w.stray;
  Peer kicked_conn_with_guest_token = w.guest;
  kicked_conn_with_guest_token.conn = w.kicked.conn;  // closed 4003 but not yet gone
  struct Case {
    std::string name;
    Peer as;
  };
  const std::vector<Case> cases = {
      {"ex-member after leave, own connection", w.left},
      {"ex-member after grace expiry", expired_on_stray},
      {"member's token on a fresh connection", guest_on_stray},
      {"member's token on another member's connection", guest_on_target_conn},
      {"owner's token on a guest's connection", owner_on_guest_conn},
      {"member's token on a kicked connection", kicked_conn_with_guest_token},
  };
  for (const auto& ev : all_events()) {
    if (ev.event == "re-attend") continue;  // the way back: see below
    for (const auto& tc : cases) {
      for (const auto& data : {ev.valid, ev.bad}) {
        SCOPED_TRACE(ev.event + " / " + tc.name + " / " + data);
        w.send(tc.as.conn, json::value(tc.as.token), ev.event, data);
        expect_only_alert(w, tc.as.conn, ev.event, "forbidden", data == ev.valid);
      }
    }
  }
}

TEST(AuthOrder, ReAttendIsTheWayBackForLeftExpiredAndUnboundMembers) {
  struct Case {
    std::string name;
    std::function<Peer(World&)> who;
    bool others_told;  // `attend` to the others (re-joined) or silent (still a member)
  };
  const std::vector<Case> cases = {
      {"left", [](World& w) { return w.left; }, true},
      {"grace expired", [](World& w) { return w.expired; }, true},
      {"still a member, new connection", [](World& w) { return w.guest; }, false},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    World w;
    const Peer p = tc.who(w);
    w.send(w.stray, json::value(p.token), "re-attend", "{}");
    EXPECT_EQ(w.h.last(w.stray).event, "re-attendance-granted");
    EXPECT_EQ(w.h.events(w.target.conn).empty(), !tc.others_told);
    Peer back = p;
    back.conn = w.stray;
    w.h.as(back, "attendees");
    EXPECT_EQ(w.h.only(w.stray).event, "attendees");
  }
}

// ---------------- role, then fields, then targets ----------------

TEST(AuthOrder, NonOwnersAreForbiddenOwnerOnlyEventsEvenWithBadFields) {
  World w;
  for (const auto& ev : all_events()) {
    if (!ev.owner_only) continue;
    for (const auto& data : {ev.valid, ev.bad}) {
      SCOPED_TRACE(ev.event + " / " + data);
      w.send(w.guest.conn, json::value(w.guest.token), ev.event, data);
      expect_only_alert(w, w.guest.conn, ev.event, "forbidden", data == ev.valid);
    }
  }
}

TEST(AuthOrder, AllowedSendersWithBadFieldsGetTheFieldError) {
  World w;
  for (const auto& ev : all_events()) {
    const Peer& p = ev.owner_only ? w.s.owner : w.guest;
    SCOPED_TRACE(ev.event);
    w.send(p.conn, json::value(p.token), ev.event, ev.bad);
    expect_only_alert(w, p.conn, ev.event, ev.bad_code, false);
    EXPECT_EQ(w.h.only(p.conn).str("field"), ev.bad_field);
  }
}

TEST(AuthOrder, UnknownTargetsAreNotFoundAfterEverythingElse) {
  World w;
  struct Case {
    std::string name;
    bool owner;
    std::string event, data, field;
  };
  const std::vector<Case> cases = {
      {"kick unknown", true, "kick", R"({"attendee":{"id":"_nobody"}})", "attendee.id"},
      {"ring unknown", true, "ring", R"({"callee":{"id":"_nobody"},"offer":{}})", "callee.id"},
      {"ring ex-member", true, "ring", R"({"callee":{"id":")" + w.left.id + R"("},"offer":{}})",
       "callee.id"},
      {"ring kicked", true, "ring", R"({"callee":{"id":")" + w.kicked.id + R"("},"offer":{}})",
       "callee.id"},
      {"hangup without call", true, "hangup", "{}", ""},
      {"hangup without call, with id", true, "hangup", R"({"call":{"id":"_c"}})", "call.id"},
      {"icecandidate unknown", false, "icecandidate",
       R"({"attendee":{"id":"_nobody"},"candidate":{}})", "attendee.id"},
      {"icecandidate ex-member", false, "icecandidate",
       R"({"attendee":{"id":")" + w.expired.id + R"("},"candidate":{}})", "attendee.id"},
      {"negotiation unknown", false, "negotiation", R"({"attendee":{"id":"_nobody"},"message":{}})",
       "attendee.id"},
      {"negotiation member of another workspace", false, "negotiation",
       R"({"attendee":{"id":")" + w.gone_guest.id + R"("},"message":{}})", "attendee.id"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const Peer& p = tc.owner ? w.s.owner : w.guest;
    w.send(p.conn, json::value(p.token), tc.event, tc.data);
    expect_only_alert(w, p.conn, tc.event, "not_found");
    EXPECT_EQ(w.h.only(p.conn).str("field"), tc.field);
  }
}

TEST(AuthOrder, FrameErrorsComeBeforeTheToken) {
  World w;
  struct Case {
    std::string name, text, code, event;
  };
  const std::vector<Case> cases = {
      {"unknown event", R"({"event":"teleport","id":7})", "unknown_event", "teleport"},
      {"bad id", R"({"event":"leave","id":[1]})", "bad_request", "leave"},
      {"no event", R"({"data":{},"id":7})", "bad_request", ""},
      {"not an object", R"([1,2])", "bad_request", ""},
      {"not JSON", R"({"event":)", "bad_request", ""},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    w.h.send(w.stray, tc.text);
    const Msg m = w.h.only(w.stray);
    EXPECT_EQ(m.str("code"), tc.code);
    EXPECT_EQ(m.str("event"), tc.event);
    EXPECT_EQ(m.at("event").is_null(), tc.event.empty());
  }
}

TEST(AuthOrder, AuthFailuresDoNotCountAsBadFrames) {
  World w;
  for (int i = 0; i < 50; ++i) {
    w.send(w.stray, std::nullopt, "leave", "{}");
    w.send(w.stray, json::value("garbage"), "attendees", "{}");
    w.send(w.stray, json::value(w.guest.token), "refresh", "{}");
    EXPECT_THAT(w.h.closes(w.stray), IsEmpty());
  }
}

// ---- the per-connection token cache: the same bytes are verified once per connection ----

TEST(TokenCache, TheSameTokenIsVerifiedOncePerConnection) {
  Harness h;
  Space s = h.create();
  Peer guest = h.join(s);
  const int before = h.access_verifications();
  for (int i = 0; i < 5; ++i) {
    h.as(guest, "mic-toggle", i % 2 ? R"({"state":true})" : R"({"state":false})");
    EXPECT_EQ(h.only(guest.conn).event, "ok");
  }
  h.as(guest, "attendees");
  EXPECT_EQ(h.only(guest.conn).event, "attendees");
  EXPECT_EQ(h.access_verifications(), before + 1);
}

TEST(TokenCache, OtherBytesAreVerifiedAgainAndAFailureKeepsTheGoodToken) {
  Harness h;
  Space s = h.create();
  Peer guest = h.join(s);
  h.as(guest, "attendees");
  const int before = h.access_verifications();
  std::string tampered = guest.token;
  char& c = tampered[tampered.size() - 5];  // inside the signature
  c = c == 'A' ? 'B' : 'A';
  h.request_with(guest.conn, json::value(tampered), "attendees");
  EXPECT_EQ(h.only(guest.conn).str("code"), "token_invalid");
  EXPECT_EQ(h.access_verifications(), before + 1);
  h.as(guest, "attendees");
  EXPECT_EQ(h.only(guest.conn).event, "attendees");
  EXPECT_EQ(h.access_verifications(), before + 1);
}

TEST(TokenCache, ExpiryIsStillCheckedOnACachedToken) {
  EngineOptions options;
  options.access_token_ttl = std::chrono::seconds(60);
  Harness h(options);
  Space s = h.create();
  Peer guest = h.join(s);
  h.as(guest, "attendees");
  EXPECT_EQ(h.only(guest.conn).event, "attendees");
  h.advance(59s);
  h.as(guest, "attendees");
  EXPECT_EQ(h.only(guest.conn).event, "attendees");
  h.advance(1s);
  h.as(guest, "attendees");
  EXPECT_EQ(h.only(guest.conn).str("code"), "token_expired");
}

TEST(TokenCache, RevocationIsStillCheckedOnACachedToken) {
  Harness h;
  Space s = h.create();
  Peer guest = h.join(s);
  h.as(guest, "attendees");
  h.as(s.owner, "kick", expand(R"({"attendee":{"id":"$g"}})", {{"$g", guest.id}}));
  ASSERT_EQ(h.closes(guest.conn), std::vector<int>{4003});
  h.as(guest, "attendees");  // a frame that was already on its way
  EXPECT_EQ(h.only(guest.conn).str("code"), "token_revoked");
}

TEST(TokenCache, ANewConnectionVerifiesTheTokenAgain) {
  Harness h;
  Space s = h.create();
  Peer guest = h.join(s);
  h.as(guest, "attendees");
  const int before = h.access_verifications();
  Peer back = h.reattend(guest);
  EXPECT_EQ(h.last(back.conn).event, "re-attendance-granted");
  EXPECT_EQ(h.access_verifications(), before + 1);
  h.as(guest, "attendees");  // the old connection was replaced: no longer bound
  EXPECT_EQ(h.only(guest.conn).str("code"), "forbidden");
}

}  // namespace
}  // namespace ws::core::test
