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

TEST(Pin, OneCheckInFlightPerAddressOneWaitingTheRestRateLimited) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  std::vector<ConnId> guesses;
  for (int i = 0; i < 10; ++i) {
    guesses.push_back(attempt(h, s, "bad"));
    if (i < 2) {
      EXPECT_THAT(h.inbox(guesses[i]), IsEmpty()) << "the first is checked, the second waits";
      continue;
    }
    EXPECT_EQ(outcome(h, guesses[i]), "rate_limited") << i;
    EXPECT_EQ(retry_after(h, guesses[i]), 1);
  }
  EXPECT_EQ(h.pending_verifies().size(), 1u) << "one check at a time per address";
  EXPECT_EQ(h.engine().stats().pin_checks_refused_busy, 8u);
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 1u);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, guesses[0]), "pin_invalid");
  EXPECT_EQ(h.pending_verifies().size(), 1u) << "the waiting one starts as the first ends";
  h.complete_verifies();
  EXPECT_EQ(outcome(h, guesses[1]), "pin_invalid");
  EXPECT_TRUE(h.pending_verifies().empty());
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 0u);
}

TEST(Pin, ParallelGuessesCannotPassThePerAddressLimit) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  for (int i = 0; i < 4; ++i) attempt(h, s, "bad");
  h.auto_complete = false;
  const ConnId fifth = attempt(h, s, "bad");
  const ConnId right = attempt(h, s, kPin);  // waits: the fifth could fill the limit
  EXPECT_EQ(h.pending_verifies().size(), 1u);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, fifth), "pin_invalid");
  EXPECT_EQ(outcome(h, right), "rate_limited") << "checked afresh, after the fifth failure";
  EXPECT_TRUE(h.pending_verifies().empty());
}

TEST(Pin, ChecksFromOtherAddressesRunSideBySideOnePerPoolThread) {
  EngineOptions o = options_with(10);
  o.pin_hash_parallel = 3;
  Harness h(o);
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  std::vector<ConnId> guests;
  for (int i = 0; i < 8; ++i) guests.push_back(attempt(h, s, kPin, "192.0.2." + std::to_string(i)));
  EXPECT_EQ(h.pending_verifies().size(), 3u) << "pin_hash_parallel go to the pool";
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 8u) << "the others are queued";
  for (std::size_t handed : {3u, 2u}) {
    h.complete_verifies();
    EXPECT_EQ(h.pending_verifies().size(), handed);
  }
  h.complete_verifies();
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 0u);
  EXPECT_EQ(h.engine().stats().attendees, 9u);
}

TEST(Pin, AWaitingAttendWhoseConnectionDroppedIsSkipped) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  const ConnId first = attempt(h, s, kPin);
  const ConnId gone = attempt(h, s, kPin);
  h.drop(gone);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, first), "attendance-granted");
  EXPECT_TRUE(h.pending_verifies().empty());
  EXPECT_THAT(h.inbox(gone), IsEmpty());
  EXPECT_EQ(outcome(h, attempt(h, s, kPin)), "");  // the address's slot is free again
  EXPECT_EQ(h.pending_verifies().size(), 1u);
}

TEST(Pin, WaitingAttendsLearnThatTheWorkspaceWasDestroyed) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  attempt(h, s, kPin);
  const ConnId waiting = attempt(h, s, kPin);
  h.as(s.owner, "destroy");
  EXPECT_EQ(outcome(h, waiting), "destroyed");
  h.complete_verifies();  // the one in flight ends on a workspace that is gone
  EXPECT_TRUE(h.pending_verifies().empty());
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 0u);
}

TEST(Pin, TheServerWideHashBoundRefusesPastItWithRetryAfter) {
  EngineOptions o = options_with(50);
  o.pin_hash_queue = 4;
  o.pin_hash_parallel = 4;
  Harness h(o);
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  for (int i = 0; i < 4; ++i) attempt(h, s, kPin, "192.0.2." + std::to_string(i));
  const ConnId over = attempt(h, s, kPin, "192.0.2.99");
  EXPECT_EQ(outcome(h, over), "rate_limited");
  EXPECT_EQ(retry_after(h, over), 1);
  EXPECT_EQ(h.pending_verifies().size(), 4u);
  // A create with a PIN is a hash too, and counts against the same bound; its refusal does not
  // use up a create of the address's hourly allowance.
  const ConnId creator = h.connect("192.0.2.98");
  h.request(creator, "create", R"({"workspace":{"pin":"1"}})");
  EXPECT_EQ(outcome(h, creator), "rate_limited");
  EXPECT_TRUE(h.pending_hashes().empty());
  h.complete(h.pending_verifies()[0].request, PinVerified{true});
  h.request(creator, "create", R"({"workspace":{"pin":"1"}})");
  EXPECT_EQ(h.pending_hashes().size(), 1u) << "a place freed";
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 4u);
}

TEST(Pin, ACreateWithAPinWaitsBehindItsAddresssCheck) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  h.auto_complete = false;
  attempt(h, s, "bad", "192.0.2.50");
  const ConnId creator = h.connect("192.0.2.50");
  h.request(creator, "create", R"({"workspace":{"pin":"1"}})");
  EXPECT_TRUE(h.pending_hashes().empty()) << "waits: one hash per address";
  const ConnId third = h.connect("192.0.2.50");
  h.request(third, "create", R"({"workspace":{"pin":"2"}})");
  EXPECT_EQ(outcome(h, third), "rate_limited");
  h.complete_verifies();
  ASSERT_EQ(h.pending_hashes().size(), 1u);
  EXPECT_EQ(h.pending_hashes()[0].pin, "1");
  h.complete(h.pending_hashes()[0].request, PinHashed{std::string("h:1")});
  EXPECT_EQ(outcome(h, creator), "created");
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 0u);
}

TEST(Pin, AnAddressThatIsNotStormingGoesAheadOfTheStorm) {
  // Ten addresses storm their own PIN workspaces with right PINs, as many attends at once as
  // they like: each holds one check in flight and one waiting. A victim from an eleventh
  // address, never served lately, is handed to the pool as soon as it has room.
  EngineOptions o = options_with(50);
  o.pin_hash_parallel = 4;  // a pool of four threads
  Harness h(o);
  std::vector<Space> own;
  for (int a = 0; a < 10; ++a) own.push_back(create_with_pin(h));
  const Space victim_space = create_with_pin(h);
  h.auto_complete = false;
  int refused = 0;
  for (int round = 0; round < 20; ++round) {
    for (int a = 0; a < 10; ++a) {
      const ConnId c = attempt(h, own[a], kPin, "198.18.0." + std::to_string(a));
      refused += outcome(h, c) == "rate_limited" ? 1 : 0;
    }
  }
  EXPECT_EQ(refused, 10 * 18);
  EXPECT_EQ(h.pending_verifies().size(), 4u);
  EXPECT_EQ(h.engine().stats().pin_hashes_in_flight, 10u);
  // The storm goes on: each check that ends lets its address's waiting one in line.
  for (int k = 0; k < 12; ++k) h.complete(h.pending_verifies().front().request, PinVerified{true});
  const ConnId victim = attempt(h, victim_space, kPin, "203.0.113.200");
  EXPECT_EQ(h.pending_verifies().size(), 4u);
  h.complete(h.pending_verifies().front().request, PinVerified{true});
  ASSERT_EQ(h.pending_verifies().size(), 4u);
  // Request ids grow: the victim's is the newest of all (the storm's waiting ones are older).
  const auto& pool = h.pending_verifies();
  for (std::size_t i = 0; i + 1 < pool.size(); ++i) {
    EXPECT_LT(pool[i].request.value, pool.back().request.value) << "the victim's check went next";
  }
  h.complete(h.pending_verifies().back().request, PinVerified{true});
  EXPECT_EQ(outcome(h, victim), "attendance-granted");
}

TEST(Pin, LimitCountsAnIPv6Slash64AsOneAddress) {
  Harness h(options_with(10));
  const Space s = create_with_pin(h);
  int checked = 0;
  for (int i = 1; i <= 30; ++i) {  // 30 hosts of one /64, each guessing twice
    for (int k = 0; k < 2; ++k) {
      const ConnId c = attempt(h, s, "bad", "2001:db8:5:6:" + std::to_string(i) + "::1");
      checked += outcome(h, c) == "pin_invalid" ? 1 : 0;
    }
  }
  EXPECT_EQ(checked, 5) << "one /64 gets the limit of one address";
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "2001:db8:5:6:ffff::1")), "rate_limited");
  EXPECT_EQ(outcome(h, attempt(h, s, "bad", "2001:db8:5:7::1")), "pin_invalid")
      << "the next /64 has its own count";
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "2001:db8:5:7::2")), "attendance-granted");
  for (int i = 0; i < 5; ++i) attempt(h, s, "bad", "192.0.2.44");
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "::ffff:192.0.2.44")), "rate_limited")
      << "a v4-mapped address counts as its IPv4 address";
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
      {"workspace filled",
       [](Harness& h, const Space& s, ConnId) { h.join(s, "x", kPin, "192.0.2.200"); }, "full"},
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

// ---------------- the per-workspace cap: the slow lane ----------------

EngineOptions slow_lane_options(int cap) {
  EngineOptions o = options_with(50);
  o.pin_max_failures_per_workspace = cap;
  return o;
}

std::string guesser(int i) {
  return "198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256);
}

/// `n` wrong PINs on `s`, one from each of guessers first..first+n-1; returns how many were
/// checked (answered pin_invalid).
int guess_round(Harness& h, const Space& s, int first, int n) {
  int checked = 0;
  for (int i = first; i < first + n; ++i) {
    checked += outcome(h, attempt(h, s, "0000", guesser(i))) == "pin_invalid" ? 1 : 0;
  }
  return checked;
}

int log_count(const Harness& h, std::string_view event) {
  int n = 0;
  for (const Log& l : h.all_of<Log>()) n += l.event == event ? 1 : 0;
  return n;
}

TEST(PinSlowLane, PastTheCapFailedAddressesGetNoMoreChecks) {
  Harness h(slow_lane_options(10));
  const Space s = create_with_pin(h);
  EXPECT_EQ(guess_round(h, s, 0, 9), 9);
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 0u);
  EXPECT_EQ(guess_round(h, s, 9, 1), 1);  // the tenth wrong PIN in the hour
  EXPECT_EQ(log_count(h, "workspace.pin_slow_lane"), 1) << "one line when it starts";
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 1u);
  // The ten (each under its own 5-a-minute limit) get no more checks, for an hour.
  for (int round = 0; round < 3; ++round) {
    h.advance(61s);
    for (int i = 0; i < 10; ++i) {
      const ConnId c = attempt(h, s, "0000", guesser(i));
      EXPECT_EQ(outcome(h, c), "rate_limited");
      EXPECT_GT(retry_after(h, c), 3000);
      EXPECT_FALSE(h.has("verify-pin"));
    }
  }
  EXPECT_EQ(h.engine().stats().pin_checks_refused_workspace, 30u);
  EXPECT_EQ(log_count(h, "workspace.pin_slow_lane"), 0) << "not repeated";
  // Even their right PIN waits out the hour: the lane is for addresses that have not failed.
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, guesser(3))), "rate_limited");
}

TEST(PinSlowLane, AFreshAddressGetsInOneCheckAtATimeOneStartEveryTwoSeconds) {
  Harness h(slow_lane_options(10));
  const Space s = create_with_pin(h);
  guess_round(h, s, 0, 10);
  h.auto_complete = false;
  const ConnId right = attempt(h, s, kPin, "203.0.113.50");
  ASSERT_EQ(h.pending_verifies().size(), 1u) << "a fresh address is checked at once";
  const ConnId other = attempt(h, s, "0000", "203.0.113.51");
  EXPECT_EQ(outcome(h, other), "rate_limited") << "one at a time";
  EXPECT_EQ(retry_after(h, other), 2);
  h.complete_verifies();
  EXPECT_EQ(outcome(h, right), "attendance-granted");
  h.advance(1500ms);
  const ConnId early = attempt(h, s, "0000", "203.0.113.51");
  EXPECT_EQ(outcome(h, early), "rate_limited") << "at most one start every two seconds";
  EXPECT_EQ(retry_after(h, early), 1);
  h.advance(500ms);
  attempt(h, s, "0000", "203.0.113.51");
  EXPECT_EQ(h.pending_verifies().size(), 1u);
  h.complete_verifies();
  h.advance(2s);
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "203.0.113.51")), "rate_limited")
      << "it failed here: out of the lane";
  EXPECT_EQ(h.pending_verifies().size(), 0u);
}

TEST(PinSlowLane, AMissingPinTakesTheLanesTurnToo) {
  Harness h(slow_lane_options(3));
  const Space s = create_with_pin(h);
  guess_round(h, s, 0, 3);
  EXPECT_EQ(outcome(h, attempt(h, s, std::nullopt, "203.0.113.60")), "pin_invalid");
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "203.0.113.61")), "rate_limited");
  h.advance(2s);
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, "203.0.113.61")), "attendance-granted");
}

TEST(PinSlowLane, FortyNineGuessersAndOneRightPinFromAFreshAddress) {
  // The issue's attack with the default cap (100 an hour): 49 addresses guess as fast as their
  // own limits allow; after the cap they get nothing, and the right PIN still gets in at once.
  Harness h(options_with(50));
  const Space s = create_with_pin(h);
  int checked = 0;
  for (int minute = 0; minute < 10; ++minute) {
    for (int k = 0; k < 5; ++k) checked += guess_round(h, s, 0, 49);
    if (minute == 0) {
      EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 1u);
      EXPECT_EQ(outcome(h, attempt(h, s, kPin, "203.0.113.70")), "attendance-granted");
    }
    h.advance(61s);
  }
  EXPECT_EQ(checked, 100) << "guesses the 49 got in ten minutes";
}

TEST(PinSlowLane, TheLaneEndsAnHourAfterTheCapsFailuresAndSaysSo) {
  Harness h(slow_lane_options(5));
  const Space s = create_with_pin(h);
  for (int i = 0; i < 5; ++i) {
    guess_round(h, s, i, 1);
    h.advance(1min);
  }
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 1u);
  // The first failure leaves the hour 55 minutes from now: four are left, fewer than the cap.
  h.advance(54min);
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 1u);
  h.advance(1min);
  EXPECT_EQ(log_count(h, "workspace.pin_slow_lane_ended"), 1);
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 0u);
  // Addresses that failed more than an hour ago, or not on their own limit, are checked again.
  EXPECT_EQ(outcome(h, attempt(h, s, kPin, guesser(4))), "attendance-granted");
}

TEST(PinSlowLane, TheCapIsPerWorkspace) {
  Harness h(slow_lane_options(3));
  const Space s = create_with_pin(h);
  const Space t = create_with_pin(h);
  guess_round(h, s, 0, 3);
  EXPECT_EQ(outcome(h, attempt(h, t, "0000", guesser(0))), "pin_invalid");
  EXPECT_EQ(outcome(h, attempt(h, t, kPin, guesser(1))), "attendance-granted");
}

TEST(PinSlowLane, MemoryIsPrunedAndGoesWithTheWorkspace) {
  EngineOptions o = slow_lane_options(1000);
  o.max_capacity = 1000;  // the right PINs below are all granted
  Harness h(o);
  const Space s = create_with_pin(h);
  guess_round(h, s, 0, 200);
  h.advance(2h);
  // 256 attends on another workspace run the periodic prune.
  const Space t = create_with_pin(h);
  for (int i = 0; i < 300; ++i) attempt(h, t, kPin, "203.0.113." + std::to_string(i % 200));
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 0u);
  EXPECT_LT(h.engine().stats().pin_tracked_entries, 100u) << "old failures were forgotten";
  const Space u = create_with_pin(h);
  guess_round(h, u, 0, 1000);
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 1u);
  const std::size_t armed = h.armed().size();
  h.as(u.owner, "destroy");
  EXPECT_EQ(h.engine().stats().pin_workspaces_slow_lane, 0u);
  EXPECT_LT(h.armed().size(), armed) << "the lane's timer is cancelled";
  EXPECT_LT(h.engine().stats().pin_tracked_entries, 100u) << "its failures went with it";
}

}  // namespace
}  // namespace ws::core::test
