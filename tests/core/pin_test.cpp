// Engine tests of PIN-protected workspaces (PROTOCOL.md §3, §4 attend): hashing and verifying
// off the Engine, pin_invalid, the per-IP per-workspace failure limit, and no leaks.
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
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kPin = "s3cr3t-PIN";
const std::string kHash = "h:" + kPin;  // the harness's fake hash

Space create_with_pin(Harness& h) {
  return h.create(R"({"workspace":{"name":"Vault","pin":")" + kPin +
                  R"("},"attendee":{"name":"Olivia"}})");
}

/// One attend attempt from a new connection at `ip`; returns that connection.
ConnId attempt(Harness& h, const Space& s, std::optional<std::string> pin,
               std::string_view ip = kGuestIp) {
  const ConnId c = h.connect(ip);
  h.request(c, "attend", Harness::attend_data(s, "Guest", std::move(pin)));
  return c;
}

/// The event of the first message `c` got in the last action (its reply), or the alert's code.
std::string outcome(const Harness& h, ConnId c) {
  const auto box = h.inbox(c);
  const Msg m = box.empty() ? Msg{} : box.front();
  return m.event == "alert" ? m.str("code") : m.event;
}

int retry_after(const Harness& h, ConnId c) {
  const json::value v = h.last(c).at("retryAfter");
  return v.is_int64() ? static_cast<int>(v.get_int64()) : -1;
}

// ---------------- create ----------------

TEST(Pin, CreateHashesThePinElsewhereAndKeepsOnlyTheHash) {
  Harness h;
  h.auto_complete = false;
  const ConnId c = h.connect();
  h.request(c, "create", R"({"workspace":{"pin":")" + kPin + R"("},"nonce":"p"})");
  EXPECT_THAT(h.trace(), ElementsAre("hash-pin"));
  ASSERT_EQ(h.pending_hashes().size(), 1u);
  EXPECT_EQ(h.pending_hashes()[0].pin, kPin);
  EXPECT_EQ(h.engine().stats().workspaces, 0u);

  h.complete(h.pending_hashes()[0].request, PinHashed{kHash});
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "created");
  EXPECT_EQ(m.at("nonce"), json::value("p"));
  EXPECT_EQ(keys(m.at("workspace")),
            (std::vector<std::string>{"avatar", "created", "id", "name", "owner", "token"}));
  EXPECT_LT(h.position("persist"), h.position("send 1 created"));
  EXPECT_EQ(h.store.at(m.str("workspace.id")).pin_hash, kHash);
}

TEST(Pin, HashFailureGivesInternalAndCreatesNothing) {
  Harness h;
  h.auto_complete = false;
  const ConnId c = h.connect();
  h.request(c, "create", R"({"workspace":{"pin":"1"},"nonce":"p"})", 2);
  h.complete(h.pending_hashes()[0].request, PinHashed{fail(ErrorCode::kInternal, "argon2")});
  EXPECT_EQ(h.only(c).str("code"), "internal");
  EXPECT_EQ(h.only(c).str("event"), "create");
  EXPECT_EQ(h.only(c).at("nonce"), json::value("p"));
  EXPECT_THAT(h.only(c).str("message"), Not(HasSubstr("argon2")));
  EXPECT_EQ(h.engine().stats().workspaces, 0u);
  EXPECT_TRUE(h.store.empty());
}

TEST(Pin, CreatorGoneBeforeTheHashIsReadyCreatesNothing) {
  Harness h;
  h.auto_complete = false;
  const ConnId c = h.connect();
  h.request(c, "create", R"({"workspace":{"pin":"1"}})");
  const RequestId rid = h.pending_hashes()[0].request;
  h.drop(c);
  h.complete(rid, PinHashed{std::string("h:1")});
  EXPECT_THAT(h.trace(), IsEmpty());
  EXPECT_EQ(h.engine().stats().workspaces, 0u);
  h.complete(rid, PinHashed{std::string("h:1")});  // an answer twice, or unknown: ignored
  h.complete(RequestId{999}, PinVerified{true});
  EXPECT_THAT(h.trace(), IsEmpty());
}

TEST(Pin, EmptyPinMeansNoPin) {
  Harness h;
  const Space s = h.create(R"({"workspace":{"pin":""}})");
  EXPECT_FALSE(h.has("hash-pin"));
  EXPECT_EQ(h.store.at(s.id).pin_hash, "");
  EXPECT_EQ(outcome(h, attempt(h, s, std::nullopt)), "attendance-granted");
  EXPECT_FALSE(h.has("verify-pin"));
  // A PIN sent to a workspace without one is ignored.
  EXPECT_EQ(outcome(h, attempt(h, s, "1234")), "attendance-granted");
  EXPECT_FALSE(h.has("verify-pin"));
}

// ---------------- attend ----------------

TEST(Pin, AttendVerifiesThePinElsewhere) {
  Harness h;
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  const ConnId c = attempt(h, s, kPin);
  EXPECT_THAT(h.trace(), ElementsAre("verify-pin"));
  ASSERT_EQ(h.pending_verifies().size(), 1u);
  EXPECT_EQ(h.pending_verifies()[0].pin, kPin);
  EXPECT_EQ(h.pending_verifies()[0].hash, kHash);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, c), "attendance-granted");
  EXPECT_EQ(h.only(s.owner.conn).event, "attend");
}

TEST(Pin, WrongOrMissingPinIsPinInvalid) {
  struct Case {
    std::string name;
    std::optional<std::string> pin;
    bool verified;  // whether a VerifyPin was asked for
  };
  const std::vector<Case> cases = {
      {"wrong", "0000", true},
      {"case differs", "S3CR3T-PIN", true},
      {"missing", std::nullopt, false},
      {"empty", "", false},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h;
    const Space s = create_with_pin(h);
    const ConnId c = h.connect();
    json::object ws{{"token", s.invite}};
    if (tc.pin) ws["pin"] = *tc.pin;
    h.request(c, "attend", json::serialize(json::object{{"workspace", ws}, {"nonce", "n"}}), 4);
    const Msg m = h.only(c);
    EXPECT_EQ(m.event, "alert");
    EXPECT_EQ(m.re, json::value(4));
    EXPECT_EQ(m.str("code"), "pin_invalid");
    EXPECT_EQ(m.str("event"), "attend");
    EXPECT_EQ(m.at("nonce"), json::value("n"));
    EXPECT_EQ(h.has("verify-pin"), tc.verified);
    EXPECT_FALSE(h.has("persist"));
    EXPECT_THAT(h.events(s.owner.conn), IsEmpty());
    EXPECT_THAT(h.closes(c), IsEmpty());
  }
}

TEST(Pin, FiveFailuresAMinuteThenRateLimitedWithRetryAfter) {
  Harness h;
  const Space s = create_with_pin(h);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(outcome(h, attempt(h, s, i % 2 ? std::optional<std::string>() : "bad")),
              "pin_invalid");
  }
  struct Step {
    std::chrono::milliseconds wait;
    int want_retry_after;
  };
  const std::vector<Step> steps = {{0ms, 60}, {20s, 40}, {19'500ms, 21}, {20s, 1}};
  for (const auto& step : steps) {
    SCOPED_TRACE(step.want_retry_after);
    h.advance(step.wait);
    const ConnId c = attempt(h, s, kPin);  // even the right PIN is refused
    EXPECT_EQ(outcome(h, c), "rate_limited");
    EXPECT_EQ(retry_after(h, c), step.want_retry_after);
    EXPECT_EQ(h.last(c).str("event"), "attend");
    EXPECT_FALSE(h.has("verify-pin"));
  }
  h.advance(500ms);  // 60 s after the failures
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "attendance-granted");
}

TEST(Pin, RetryAfterCountsFromTheOldestFailureInTheWindow) {
  Harness h;
  const Space s = create_with_pin(h);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(outcome(h, attempt(h, s, "bad")), "pin_invalid");
    h.advance(10s);
  }
  // Failures at 0, 10, 20, 30, 40 s; now 50 s.
  ConnId c = attempt(h, s, "bad");
  EXPECT_EQ(retry_after(h, c), 10);
  h.advance(10s);  // the first failure leaves the window
  EXPECT_EQ(outcome(h, attempt(h, s, "bad")), "pin_invalid");
  c = attempt(h, s, "bad");
  EXPECT_EQ(retry_after(h, c), 10);  // now the one at 10 s is the oldest
}

TEST(Pin, LimitIsPerClientIpAndPerWorkspace) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  const Space t = create_with_pin(h);
  for (int i = 0; i < 5; ++i) attempt(h, s, "bad", "192.0.2.1");
  EXPECT_EQ(outcome(h, attempt(h, s, "bad", "192.0.2.1")), "rate_limited");
  EXPECT_EQ(outcome(h, attempt(h, s, "bad", "192.0.2.2")), "pin_invalid");
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "192.0.2.2")), "attendance-granted");
  EXPECT_EQ(outcome(h, attempt(h, t, "bad", "192.0.2.1")), "pin_invalid");
  EXPECT_EQ(outcome(h, attempt(h, t, kPin, "192.0.2.1")), "attendance-granted");
}

TEST(Pin, LimitFollowsTheOptions) {
  EngineOptions o;
  o.pin_max_failures = 2;
  o.pin_failure_window = 10s;
  Harness h(o);
  const Space s = create_with_pin(h);
  attempt(h, s, "bad");
  attempt(h, s, "bad");
  const ConnId c = attempt(h, s, "bad");
  EXPECT_EQ(outcome(h, c), "rate_limited");
  EXPECT_EQ(retry_after(h, c), 10);
  h.advance(10s);
  EXPECT_EQ(outcome(h, attempt(h, s, "bad")), "pin_invalid");
}

TEST(Pin, ChecksInFlightCountSoParallelGuessesCannotPassTheLimit) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  std::vector<ConnId> guesses;
  for (int i = 0; i < 10; ++i) guesses.push_back(attempt(h, s, "bad"));
  EXPECT_EQ(h.pending_verifies().size(), 5u) << "never more checks than failures allowed";
  h.complete_verifies();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(outcome(h, guesses[i]), "pin_invalid") << i;
  for (int i = 5; i < 10; ++i) EXPECT_EQ(outcome(h, guesses[i]), "rate_limited") << i;
  EXPECT_TRUE(h.pending_verifies().empty());
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "rate_limited");
}

TEST(Pin, ARightPinIsNeverRefusedBecauseOthersAreBeingChecked) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  std::vector<ConnId> guests;
  for (int i = 0; i < 8; ++i) guests.push_back(attempt(h, s, kPin));
  EXPECT_EQ(h.pending_verifies().size(), 5u);
  EXPECT_THAT(h.trace(), IsEmpty()) << "the 8th waits: no reply, no check yet";
  h.complete_verifies();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(outcome(h, guests[i]), "attendance-granted") << i;
  EXPECT_EQ(h.pending_verifies().size(), 3u) << "the waiting three start as checks end";
  h.complete_verifies();
  for (int i = 5; i < 8; ++i) EXPECT_EQ(outcome(h, guests[i]), "attendance-granted") << i;
}

TEST(Pin, AWaitingAttendWhoseConnectionDroppedIsSkipped) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  for (int i = 0; i < 5; ++i) attempt(h, s, kPin);
  const ConnId gone = attempt(h, s, kPin);
  const ConnId next = attempt(h, s, kPin);
  h.drop(gone);
  h.complete_verifies();
  ASSERT_EQ(h.pending_verifies().size(), 1u);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, next), "attendance-granted");
  EXPECT_THAT(h.inbox(gone), IsEmpty());
}

TEST(Pin, WaitingAttendsLearnThatTheWorkspaceWasDestroyed) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  for (int i = 0; i < 5; ++i) attempt(h, s, kPin);
  const ConnId waiting = attempt(h, s, kPin);
  h.as(s.owner, "destroy");
  EXPECT_EQ(outcome(h, waiting), "destroyed");
  h.complete_verifies();  // the five in flight end on a workspace that is gone
  EXPECT_TRUE(h.pending_verifies().empty());
}

TEST(Pin, TheWaitingLineIsBounded) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  for (int i = 0; i < 5 + 32; ++i) attempt(h, s, kPin);
  const ConnId over = attempt(h, s, kPin);
  EXPECT_EQ(outcome(h, over), "rate_limited");
  EXPECT_GE(retry_after(h, over), 1);
}

TEST(Pin, RightPinIsNotAFailureButAMissingOneIs) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  for (int i = 0; i < 4; ++i) attempt(h, s, i < 2 ? std::optional<std::string>() : "bad");
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "attendance-granted");
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "attendance-granted");
  EXPECT_EQ(outcome(h, attempt(h, s, std::nullopt)), "pin_invalid");  // the fifth failure
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "rate_limited");
}

TEST(Pin, StateThatChangesWhileVerifyingIsCheckedAgain) {
  struct Case {
    std::string name;
    std::function<void(Harness&, const Space&, ConnId)> meanwhile;
    std::string want;  // outcome, "" for no reply at all
  };
  const std::vector<Case> cases = {
      {"workspace destroyed", [](Harness& h, const Space& s, ConnId) { h.as(s.owner, "destroy"); },
       "destroyed"},
      {"workspace filled", [](Harness& h, const Space& s, ConnId) { h.join(s, "x", kPin); },
       "full"},
      {"connection gone", [](Harness& h, const Space&, ConnId c) { h.drop(c); }, ""},
      {"connection created its own workspace",
       [](Harness& h, const Space&, ConnId c) { h.request(c, "create"); }, "conflict"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Harness h(options_with(2));
    const Space s = create_with_pin(h);
    h.auto_complete = false;
    const ConnId c = attempt(h, s, kPin);
    const RequestId rid = h.pending_verifies().at(0).request;
    h.auto_complete = true;
    tc.meanwhile(h, s, c);
    h.complete(rid, PinVerified{true});
    if (tc.want.empty()) {
      EXPECT_THAT(h.trace(), IsEmpty());
    } else {
      EXPECT_EQ(outcome(h, c), tc.want);
    }
  }
}

TEST(Pin, ReAttendNeedsNoPin) {
  Harness h;
  const Space s = create_with_pin(h);
  const Peer a = h.join(s, "Alice", kPin);
  h.drop(a.conn);
  h.advance(30s);
  const Peer back = h.reattend(a);
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  EXPECT_FALSE(h.has("verify-pin"));
}

TEST(Pin, NeitherThePinNorItsHashEverReachesAClientOrTheLog) {
  Harness h;
  const Space s = create_with_pin(h);
  const Peer a = h.join(s, "Alice", kPin);
  attempt(h, s, "wrong");
  for (int i = 0; i < 5; ++i) attempt(h, s, kPin + "x");
  h.as(a, "attendees");
  h.as(s.owner, "refresh");
  h.drop(a.conn);
  h.advance(30s);
  h.reattend(a);
  h.as(s.owner, "kick", R"({"attendee":{"id":")" + a.id + R"("}})");
  h.shutdown(5);
  h.as(s.owner, "destroy");
  const std::string seen = h.visible_text();
  EXPECT_THAT(seen, HasSubstr("attendance-granted"));  // the text is really collected
  EXPECT_THAT(seen, HasSubstr("workspace.created"));
  EXPECT_THAT(seen, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(seen, Not(HasSubstr("S3CR3T")));
}

}  // namespace
}  // namespace ws::core::test
