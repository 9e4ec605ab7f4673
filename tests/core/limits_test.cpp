// Engine tests of the per-connection message rate and the per-IP workspace creation rate
// (PROTOCOL.md §10): each limit crossed, and a full workspace in a call staying under both.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/engine_fixture.hpp"
#include "core/limits.hpp"
#include "proto/parse.hpp"

namespace ws::core::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

EngineOptions rate(double per_second, double burst) {
  EngineOptions o;
  o.messages_per_second = per_second;
  o.messages_burst = burst;
  return o;
}

/// `n` `attendees` requests from `p`, each with its own id; the count of `rate_limited` alerts.
int send_many(Harness& h, const Peer& p, int n) {
  int limited = 0;
  for (int i = 0; i < n; ++i) {
    h.as(p, "attendees", "{}", i + 1);
    const Msg m = h.last(p.conn);
    if (m.event == "alert" && m.str("code") == "rate_limited") ++limited;
  }
  return limited;
}

TEST(MessageRate, TheBurstPassesAndTheNextMessageIsRefusedWithRetryAfter) {
  Harness h(rate(10, 5));
  const Space s = h.create();  // the create took one token: 4 left
  EXPECT_EQ(send_many(h, s.owner, 4), 0);
  h.as(s.owner, "attendees", "{}", 99);
  const Msg m = h.only(s.owner.conn);
  EXPECT_EQ(m.event, "alert");
  EXPECT_EQ(m.at("code"), "rate_limited");
  EXPECT_EQ(m.at("event"), "attendees");
  EXPECT_EQ(m.at("retryAfter"), 1);
  EXPECT_EQ(m.re, 99);
  EXPECT_THAT(h.closes(s.owner.conn), IsEmpty());
  EXPECT_EQ(h.engine().stats().messages_rate_limited, 1u);
}

TEST(MessageRate, TokensComeBackAtTheConfiguredRate) {
  Harness h(rate(10, 5));
  const Space s = h.create();
  EXPECT_EQ(send_many(h, s.owner, 4), 0);
  h.advance(std::chrono::milliseconds(99));  // 0.99 of a token
  EXPECT_EQ(send_many(h, s.owner, 1), 1);
  h.advance(std::chrono::milliseconds(1));  // 1 token
  EXPECT_EQ(send_many(h, s.owner, 1), 0);
  h.advance(std::chrono::seconds(60));  // refilled to the burst, never beyond
  EXPECT_EQ(send_many(h, s.owner, 5), 0);
  EXPECT_EQ(send_many(h, s.owner, 1), 1);
}

TEST(MessageRate, EachConnectionHasItsOwnBucketEvenFromOneAddress) {
  Harness h(rate(10, 3));
  const Space s = h.create();
  const Peer g = h.join(s, "Guest", std::nullopt, kOwnerIp);
  EXPECT_EQ(send_many(h, s.owner, 5), 3);
  EXPECT_EQ(send_many(h, g, 2), 0);
}

TEST(MessageRate, BadFramesCountToo) {
  Harness h(rate(10, 3));
  const ConnId c = h.connect();
  h.send(c, "not json");
  h.send(c, "[]");
  h.send(c, "{}");
  h.send(c, "{\"event\":\"attendees\"}");
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
}

TEST(MessageRate, RefusalsThatGoOnForTenSecondsCloseWith1008) {
  Harness h(rate(10, 5));
  const Space s = h.create();
  send_many(h, s.owner, 4);
  // 20 messages a second against 10 allowed: refusals every 50 ms or so.
  for (int step = 0; step < 199; ++step) {
    h.advance(std::chrono::milliseconds(50));
    h.as(s.owner, "attendees", "{}", step);
    ASSERT_THAT(h.closes(s.owner.conn), IsEmpty()) << "at step " << step;
  }
  h.advance(std::chrono::milliseconds(50));
  h.as(s.owner, "attendees", "{}", 500);
  h.advance(std::chrono::milliseconds(50));
  h.as(s.owner, "attendees", "{}", 501);
  EXPECT_THAT(h.closes(s.owner.conn), ElementsAre(1008));
  EXPECT_EQ(h.engine().stats().rate_limit_closes, 1u);
}

TEST(MessageRate, ASecondWithoutRefusalEndsTheRun) {
  Harness h(rate(10, 5));
  const Space s = h.create();
  send_many(h, s.owner, 4);
  // Bursts over the limit, each followed by a pause: refused for 30 s in all, never 10 s on end.
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 50; ++i) {
      h.as(s.owner, "attendees", "{}", i);
      ASSERT_THAT(h.closes(s.owner.conn), IsEmpty());
      h.advance(std::chrono::milliseconds(100));  // 5 s of 20/s: tokens never last
      h.as(s.owner, "attendees", "{}", i);
      ASSERT_THAT(h.closes(s.owner.conn), IsEmpty());
    }
    h.advance(std::chrono::milliseconds(1500));
  }
  EXPECT_GT(h.engine().stats().messages_rate_limited, 100u);
  EXPECT_EQ(h.engine().stats().rate_limit_closes, 0u);
}

/// The defaults hold a full workspace's call: every member sends an offer or answer and 30
/// ICE candidates to each other member at the same instant, then keeps renegotiating.
TEST(MessageRate, AFullWorkspaceInACallStaysUnderTheDefaults) {
  Harness h(options_with(5));
  const Space s = h.create();
  std::vector<Peer> members{s.owner};
  for (int i = 0; i < 4; ++i) members.push_back(h.join(s, "Guest" + std::to_string(i)));
  std::vector<std::string> alerts;
  auto send = [&](const Peer& from, std::string_view event, const std::string& data) {
    h.as(from, event, data, json::value());
    for (const Msg& m : h.inbox(from.conn)) {
      if (m.event == "alert") alerts.push_back(json::serialize(m.data));
    }
  };
  for (int round = 0; round < 10; ++round) {
    for (const Peer& from : members) {
      for (const Peer& to : members) {
        if (from.id == to.id) continue;
        const std::string target = R"({"attendee":{"id":")" + to.id + R"("},)";
        send(from, "negotiation", target + R"("message":{"type":"offer","sdp":"v=0"}})");
        for (int c = 0; c < 30; ++c) {
          send(from, "icecandidate", target + R"("candidate":{"candidate":"c"}})");
        }
      }
    }
    h.advance(std::chrono::seconds(5));
  }
  EXPECT_THAT(alerts, IsEmpty());
  for (const Peer& p : members) EXPECT_THAT(h.closes(p.conn), IsEmpty());
}

// ---------------- TokenBucket (core/limits.hpp) ----------------

using Bucket = TokenBucket<TimePoint>;
const TimePoint kT0{std::chrono::milliseconds(1'000'000)};

TEST(TokenBucket, StartsFullTakesAndRefillsAtTheRateUpToTheBurst) {
  const TokenRate rate{10, 5};
  Bucket b(rate, kT0);
  EXPECT_TRUE(b.try_take(rate, 5, kT0));
  EXPECT_FALSE(b.try_take(rate, 1, kT0));
  EXPECT_DOUBLE_EQ(b.seconds_until(rate, 1), 0.1);
  EXPECT_FALSE(b.try_take(rate, 1, kT0 + std::chrono::milliseconds(99)));
  EXPECT_TRUE(b.try_take(rate, 1, kT0 + std::chrono::milliseconds(100)));
  b.refill(rate, kT0 + std::chrono::hours(1));
  EXPECT_DOUBLE_EQ(b.tokens(), 5) << "never beyond the burst";
}

TEST(TokenBucket, ARefusedTakeTakesNothingAndTimeGoingBackRefillsNothing) {
  const TokenRate rate{1, 3};
  Bucket b(rate, kT0);
  EXPECT_TRUE(b.try_take(rate, 2, kT0));
  EXPECT_FALSE(b.try_take(rate, 2, kT0));
  EXPECT_DOUBLE_EQ(b.tokens(), 1);
  b.refill(rate, kT0 - std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(b.tokens(), 1);
}

TEST(TokenBucket, ABatchOverTheBurstPassesOnlyFromAFullBucketAndEmptiesIt) {
  const TokenRate rate{100, 300};
  Bucket b(rate, kT0);
  EXPECT_TRUE(b.try_take(rate, 500, kT0));
  EXPECT_DOUBLE_EQ(b.tokens(), 0);
  EXPECT_FALSE(b.try_take(rate, 500, kT0 + std::chrono::seconds(2)));
  EXPECT_DOUBLE_EQ(b.seconds_until(rate, 500), 1.0) << "until full: 100 more at 100/s";
  EXPECT_FALSE(b.full_at(rate, kT0 + std::chrono::milliseconds(2999)));
  EXPECT_TRUE(b.full_at(rate, kT0 + std::chrono::seconds(3)));
}

// ---------------- every frame counts (issue 16 items 1 and 7) ----------------

TEST(FrameRate, FramesWithoutAMessageTakeTokensAndARefusedBatchGetsOneAlert) {
  Harness h(rate(10, 5));
  const ConnId c = h.connect();
  h.handle(FramesReceived{c, 5, 5 * 131});  // five 125-byte pings: the whole burst
  EXPECT_THAT(h.inbox(c), IsEmpty());
  h.handle(FramesReceived{c, 3, 3 * 6});  // three empty continuation frames
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "alert");
  EXPECT_EQ(m.at("code"), "rate_limited");
  EXPECT_EQ(m.at("retryAfter"), 1);
  EXPECT_FALSE(m.data.as_object().contains("event")) << "no request to name";
  // Nothing left for a message either.
  h.request(c, "attendees", "{}", 7);
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
  EXPECT_EQ(h.engine().stats().messages_rate_limited, 2u);
}

TEST(FrameRate, AMessageTakesEveryFrameItCarries) {
  Harness h(rate(10, 5));
  const ConnId c = h.connect();
  // A message that came after four pings (or in five fragments): five tokens.
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":1})"), 5, 100});
  EXPECT_NE(h.only(c).at("code"), "rate_limited");
  h.request(c, "attendees", "{}", 2);
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
}

TEST(FrameRate, AFloodOfPingsForTenSecondsClosesWith1008) {
  Harness h(rate(10, 5));
  const ConnId c = h.connect();
  // Refused from 50 ms on; at 10.05 s the run has lasted 10 s.
  for (int step = 0; step <= 200; ++step) {
    h.handle(FramesReceived{c, 100, 100 * 131});
    ASSERT_THAT(h.closes(c), IsEmpty()) << "at step " << step;
    h.advance(std::chrono::milliseconds(50));
  }
  h.handle(FramesReceived{c, 100, 100 * 131});
  EXPECT_THAT(h.closes(c), ElementsAre(1008));
  EXPECT_EQ(h.engine().stats().rate_limit_closes, 1u);
}

EngineOptions byte_rate(double per_second, double burst) {
  EngineOptions o;
  o.bytes_per_second = per_second;
  o.bytes_burst = burst;
  return o;
}

TEST(ByteRate, LargeFramesOverTheByteBudgetAreRefusedWithTheWaitForTheBytes) {
  Harness h(byte_rate(1000, 4000));
  const ConnId c = h.connect();
  h.handle(FramesReceived{c, 1, 3000});
  EXPECT_THAT(h.inbox(c), IsEmpty());
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":1})"), 1, 3000});
  const Msg m = h.only(c);
  EXPECT_EQ(m.at("code"), "rate_limited");
  EXPECT_EQ(m.at("event"), "attendees");
  EXPECT_EQ(m.at("retryAfter"), 2) << "2000 bytes missing at 1000/s";
  EXPECT_EQ(h.engine().stats().bytes_rate_limited, 1u);
  // A refused message takes nothing: a small one still passes, and message tokens were kept.
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":2})"), 1, 500});
  EXPECT_NE(h.only(c).at("code"), "rate_limited");
}

TEST(ByteRate, ARefusedBatchStillCostsItsBytesSoTheMessageItBeganIsRefusedToo) {
  // A 30 KB message whose first 29 KB arrive in one read (reported as a batch, refused) and its
  // last kilobyte in the next: the refused batch still empties the bucket, so the message is
  // refused too, not let through at the cost of its last read.
  Harness h(byte_rate(1, 40000));
  const ConnId c = h.connect();
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":1})"), 1, 30000});
  EXPECT_NE(h.only(c).at("code"), "rate_limited");
  h.handle(FramesReceived{c, 1, 29000});  // refused: 10,000 left
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":2})"), 0, 1000});
  EXPECT_EQ(h.only(c).at("code"), "rate_limited") << "the batch's bytes were charged";
  EXPECT_EQ(h.only(c).at("event"), "attendees");
  // All of a message's frames may have come in earlier reads: it carries nothing itself, and
  // the debt still refuses it.
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":3})"), 0, 0});
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
  // The debt is at most one burst: 40,000 bytes at 1 byte/s... here, refilled by the clock.
  h.advance(std::chrono::hours(24));
  h.handle(Received{c, proto::parse(R"({"event":"attendees","id":4})"), 1, 1000});
  EXPECT_NE(h.only(c).at("code"), "rate_limited");
}

TEST(TokenBucket, OweGoesIntoDebtAtMostOneBurst) {
  const TokenRate rate{10, 5};
  TokenBucket<TimePoint> b(rate, kT0);
  b.owe(rate, 3);
  EXPECT_EQ(b.tokens(), 2);
  b.owe(rate, 100);
  EXPECT_EQ(b.tokens(), -5);
  EXPECT_FALSE(b.can_take(rate, 0)) << "nothing, not even a free message, while in debt";
  b.refill(rate, kT0 + std::chrono::milliseconds(500));
  EXPECT_EQ(b.tokens(), 0);
  EXPECT_TRUE(b.can_take(rate, 0));
}

TEST(ByteRate, TheDefaultsHoldAFullCallOfLargeOffersFarBelowTheBudget) {
  // 4 peers x (one 10 KiB SDP + 40 candidates of 200 bytes) from one member at once, every
  // 5 s: about 72 KiB a burst, under a tenth of the default burst.
  Harness h(options_with(5));
  const ConnId c = h.connect();
  for (int round = 0; round < 20; ++round) {
    for (int peer = 0; peer < 4; ++peer) {
      h.handle(FramesReceived{c, 1, 10 * 1024});
      for (int k = 0; k < 40; ++k) h.handle(FramesReceived{c, 1, 200});
      ASSERT_THAT(h.inbox(c), IsEmpty()) << "round " << round;
    }
    h.advance(std::chrono::seconds(5));
  }
  EXPECT_EQ(h.engine().stats().messages_rate_limited, 0u);
}

// ---------------- Bound: what may not be evicted (issue 16 item 6) ----------------

TEST(Bound, BindingAndUnbindingAConnectionAreEffectsOnlyWhenTheyChange) {
  Harness h;
  const Space s = h.create();
  const Peer g = h.join(s, "Guest");
  EXPECT_THAT(h.bound(), ElementsAre("bound " + std::to_string(g.conn.value)));
  h.as(g, "attendees");
  EXPECT_THAT(h.bound(), IsEmpty()) << "a request of a bound member changes nothing";
  h.as(g, "leave");
  EXPECT_THAT(h.bound(), ElementsAre("unbound " + std::to_string(g.conn.value)));
  h.as(s.owner, "destroy");
  EXPECT_THAT(h.bound(), ElementsAre("unbound " + std::to_string(s.owner.conn.value)));
}

TEST(Bound, AReplacedConnectionIsUnboundAndTheNewOneBound) {
  Harness h;
  const Space s = h.create();
  const Peer again = h.reattend(s.owner);
  EXPECT_THAT(h.bound(), ElementsAre("unbound " + std::to_string(s.owner.conn.value),
                                     "bound " + std::to_string(again.conn.value)));
}

EngineOptions creates_per_hour(int n) {
  EngineOptions o;
  o.workspaces_per_ip_per_hour = n;
  return o;
}

TEST(CreateRate, TheLimitCountsCreatesPerAddressPerHour) {
  Harness h(creates_per_hour(3));
  for (int i = 0; i < 3; ++i) {
    h.create();
    h.advance(std::chrono::minutes(10));
  }
  const ConnId c = h.connect(kOwnerIp);
  h.request(c, "create", R"({"workspace":{"name":"Fourth"}})", 7);
  const Msg m = h.only(c);
  EXPECT_EQ(m.event, "alert");
  EXPECT_EQ(m.at("code"), "rate_limited");
  EXPECT_EQ(m.at("event"), "create");
  // The first create leaves the window 60 min after it: 30 min from now.
  EXPECT_EQ(m.at("retryAfter"), 30 * 60);
  EXPECT_EQ(h.engine().stats().workspaces, 3u);
  EXPECT_EQ(h.engine().stats().workspaces_rate_limited, 1u);

  h.create(R"({"workspace":{"name":"Elsewhere"}})", kGuestIp);  // another address: its own count
  h.advance(std::chrono::minutes(30));
  h.request(c, "create", R"({"workspace":{"name":"Fourth"}})", 8);
  EXPECT_EQ(h.only(c).event, "created");
}

TEST(CreateRate, DestroyedWorkspacesStillCount) {
  Harness h(creates_per_hour(2));
  for (int i = 0; i < 2; ++i) {
    const Space s = h.create();
    h.as(s.owner, "destroy");
    ASSERT_EQ(h.engine().stats().workspaces, 0u);
  }
  const ConnId c = h.connect(kOwnerIp);
  h.request(c, "create", "{}");
  EXPECT_EQ(h.only(c).at("code"), "rate_limited");
}

TEST(CreateRate, RefusedAndInvalidCreatesDoNotCount) {
  Harness h(creates_per_hour(1));
  const ConnId c = h.connect(kOwnerIp);
  h.request(c, "create", R"({"workspace":{"name":7}})");
  EXPECT_EQ(h.only(c).at("code"), "bad_request");
  h.request(c, "create", "{}");
  EXPECT_EQ(h.only(c).event, "created");
  h.request(c, "create", "{}");  // already a member: conflict, not counted as a create
  EXPECT_EQ(h.only(c).at("code"), "conflict");
}

TEST(CreateRate, AddressesOfOneIPv6Slash64ShareOneCount) {
  Harness h(creates_per_hour(3));
  int created = 0;
  for (int i = 1; i <= 6; ++i) {  // six hosts of 2001:db8:7:1::/64, a v4-mapped client between
    const ConnId c = h.connect("2001:db8:7:1:" + std::to_string(i) + "::" + std::to_string(i));
    h.request(c, "create", "{}");
    created += h.only(c).event == "created" ? 1 : 0;
  }
  EXPECT_EQ(created, 3);
  EXPECT_EQ(h.engine().stats().workspaces_rate_limited, 3u);
  const ConnId other = h.connect("2001:db8:7:2::1");  // the neighbouring /64
  h.request(other, "create", "{}");
  EXPECT_EQ(h.only(other).event, "created");
  // A v4-mapped address is its IPv4 address.
  h.create("{}", "192.0.2.9");
  h.create("{}", "192.0.2.9");
  h.create("{}", "::ffff:192.0.2.9");
  const ConnId mapped = h.connect("::ffff:192.0.2.9");
  h.request(mapped, "create", "{}");
  EXPECT_EQ(h.only(mapped).at("code"), "rate_limited");
}

}  // namespace
}  // namespace ws::core::test
