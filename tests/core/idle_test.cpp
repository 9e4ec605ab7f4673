// Engine tests of workspace_idle_ttl_seconds (issue 6): a workspace with no member online for
// the idle TTL is deleted from memory and the store, across restarts; 0 means never.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/engine_fixture.hpp"

namespace ws::core::test {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

EngineOptions with_ttl(std::chrono::seconds ttl) {
  EngineOptions o;
  o.idle_ttl = ttl;
  return o;
}

std::optional<std::int64_t> idle_since(const Harness& h, const Space& s) {
  return h.store.at(s.id).idle_since_ms;
}

TEST(Idle, TheRecordSaysSinceWhenNobodyIsOnline) {
  Harness h(with_ttl(1h));
  const Space s = h.create();
  EXPECT_EQ(idle_since(h, s), std::nullopt);
  const Peer guest = h.join(s);
  h.drop(guest.conn);
  EXPECT_THAT(h.trace(), Not(Contains("persist idle " + s.id))) << "the owner is still online";
  h.advance(5s);
  h.drop(s.owner.conn);
  EXPECT_THAT(h.trace(), Contains("persist idle " + s.id)) << "the last one going offline";
  EXPECT_EQ(idle_since(h, s), h.now_ms());
  h.reattend(s.owner);
  EXPECT_THAT(h.trace(), Contains("persist idle " + s.id)) << "back online, before the reply";
  EXPECT_LT(h.position("persist idle"), h.position("send"));
  EXPECT_EQ(idle_since(h, s), std::nullopt);
}

TEST(Idle, AWorkspaceWithNobodyOnlineForTheTtlIsDeleted) {
  Harness h(with_ttl(1h));
  const Space s = h.create();
  h.drop(s.owner.conn);
  h.advance(1h - 1ms);
  EXPECT_TRUE(h.store.count(s.id));
  h.advance(1ms);
  EXPECT_THAT(h.trace(), Contains("persist delete " + s.id));
  EXPECT_FALSE(h.store.count(s.id));
  EXPECT_EQ(h.engine().stats().workspaces, 0u);
  EXPECT_EQ(h.engine().stats().expired_workspaces, 1u);
  const ConnId late = h.connect();
  h.request(late, "attend", Harness::attend_data(s, "Late"));
  EXPECT_EQ(h.only(late).event, "destroyed");
  h.request_with(h.connect(), json::value(s.owner.token), "re-attend");
}

TEST(Idle, SomeoneOnlineRestartsTheClock) {
  Harness h(with_ttl(1h));
  const Space s = h.create();
  h.drop(s.owner.conn);
  h.advance(50min);
  const Peer back = h.reattend(s.owner);  // former member by now: re-joins
  EXPECT_EQ(h.only(back.conn).event, "re-attendance-granted");
  h.advance(20min);
  h.drop(back.conn);
  h.advance(1h - 1ms);
  EXPECT_TRUE(h.store.count(s.id)) << "idle for 1 h since the last drop, not since the first";
  h.advance(1ms);
  EXPECT_FALSE(h.store.count(s.id));
}

TEST(Idle, ExpiryWithinTheGracePeriodCancelsTheGraceTimers) {
  EngineOptions o = with_ttl(10s);
  o.reconnect_grace = 30s;
  Harness h(o);
  const Space s = h.create();
  const Peer guest = h.join(s);
  h.drop(guest.conn);
  h.drop(s.owner.conn);  // both offline, both within their grace period
  h.advance(10s);
  EXPECT_FALSE(h.store.count(s.id));
  EXPECT_TRUE(h.armed().empty()) << "the grace timers went with the workspace";
  h.advance(30s);
  EXPECT_THAT(h.trace(), IsEmpty());
}

TEST(Idle, ZeroMeansNever) {
  Harness h(with_ttl(0s));
  const Space s = h.create();
  h.drop(s.owner.conn);
  h.advance(std::chrono::hours(24 * 1000));
  EXPECT_TRUE(h.store.count(s.id));
  EXPECT_EQ(h.engine().stats().expired_workspaces, 0u);
  EXPECT_TRUE(h.armed().empty()) << "no idle timer at all";
}

TEST(Idle, TheIdleClockSurvivesARestart) {
  Harness before(with_ttl(1h));
  const Space idle = before.create();
  before.drop(idle.owner.conn);        // idle since now
  const Space busy = before.create();  // its owner is online when the server stops
  const std::int64_t stopped_ms = before.now_ms();

  Harness after(with_ttl(1h));
  after.advance(std::chrono::milliseconds(stopped_ms - after.now_ms()) + 20min);  // restart
  after.restore(before.snapshot());
  after.advance(40min - 1ms);
  EXPECT_EQ(after.engine().stats().workspaces, 2u);
  after.advance(1ms);
  EXPECT_EQ(after.engine().stats().workspaces, 1u) << "idle since before the restart: 1 h is up";
  EXPECT_EQ(after.engine().stats().expired_workspaces, 1u);
  after.advance(20min - 1ms);
  EXPECT_EQ(after.engine().stats().workspaces, 1u);
  after.advance(1ms);
  EXPECT_EQ(after.engine().stats().workspaces, 0u) << "online at the stop: idle since boot";
  (void)busy;
}

}  // namespace
}  // namespace ws::core::test
