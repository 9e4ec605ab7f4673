// max_connections from the descriptor limit (docs/protocol.md §11, docs/security.md): a
// reserve of max(64, 5 %) kept back, half of it for /healthz, /readyz and /metrics while every
// connection is held, half for the process's own files.
#include <gtest/gtest.h>

#include <cstdint>

#include "app/fd_limit.hpp"

namespace ws::app {
namespace {

TEST(ConnectionBudget, ZeroTakesMaxConnectionsFromTheLimitMinusTheReserve) {
  const ConnectionBudget b = connection_budget(20000, 0);
  EXPECT_EQ(b.reserve, 1000u);  // 5 % of 20,000
  EXPECT_EQ(b.max_connections, 19000u);
  EXPECT_EQ(b.max_held, 19500u) << "held sockets stop at the second half of the reserve";
  EXPECT_FALSE(b.clamped);
}

TEST(ConnectionBudget, TheReserveIsAtLeast64) {
  const ConnectionBudget b = connection_budget(400, 0);
  EXPECT_EQ(b.reserve, 64u);
  EXPECT_EQ(b.max_connections, 336u);
  EXPECT_EQ(b.max_held, 368u);
}

TEST(ConnectionBudget, AConfiguredValueAboveTheLimitIsClamped) {
  const ConnectionBudget b = connection_budget(20000, 50000);
  EXPECT_TRUE(b.clamped);
  EXPECT_EQ(b.max_connections, 19000u);
  EXPECT_EQ(b.max_held, 19500u);
}

TEST(ConnectionBudget, AConfiguredValueWithinTheLimitIsKeptAndHeldTwice) {
  const ConnectionBudget b = connection_budget(20000, 100);
  EXPECT_FALSE(b.clamped);
  EXPECT_EQ(b.max_connections, 100u);
  EXPECT_EQ(b.max_held, 200u) << "twice, as the refused ones may still ask for plain HTTP";
  EXPECT_EQ(connection_budget(20000, 19000).max_held, 19500u) << "never into the reserve";
  EXPECT_FALSE(connection_budget(20000, 19000).clamped);
  EXPECT_TRUE(connection_budget(20000, 19001).clamped);
}

TEST(ConnectionBudget, AnUnknownOrUnlimitedLimitKeepsTheConfiguredValueOr50000) {
  for (std::uint64_t limit : {std::uint64_t{0}, UINT64_MAX}) {
    EXPECT_EQ(connection_budget(limit, 0).max_connections, 50000u);
    EXPECT_EQ(connection_budget(limit, 0).max_held, 100000u);
    EXPECT_EQ(connection_budget(limit, 7).max_connections, 7u);
    EXPECT_EQ(connection_budget(limit, 7).reserve, 0u);
    EXPECT_FALSE(connection_budget(limit, 7).clamped);
  }
}

TEST(ConnectionBudget, ALimitBelowTheReserveStillAllowsOneConnection) {
  const ConnectionBudget b = connection_budget(10, 0);
  EXPECT_EQ(b.max_connections, 1u);
  EXPECT_EQ(b.max_held, 1u);
}

}  // namespace
}  // namespace ws::app
