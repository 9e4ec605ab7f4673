// Admission of TCP connections (PROTOCOL.md §10): total and per-address counts, the per-address
// rate of new connections, IPv6 /64 grouping, and tickets giving their place back.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "net/detail/admission.hpp"

namespace ws::net::detail {
namespace {

using namespace std::chrono_literals;
using Clock = Admission::Clock;
namespace ip = boost::asio::ip;

ip::address addr(const char* text) {
  return ip::make_address(text);
}

AdmissionLimits limits(std::size_t total, std::size_t per_ip, double rate, double burst) {
  return AdmissionLimits{total, per_ip, rate, burst};
}

const Clock::time_point t0{};

TEST(Admission, AnAddressOverMaxConnectionsPerIpIsRefusedUntilOneEnds) {
  Admission a(limits(100, 3, 1000, 1000));
  std::vector<Admission::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(a.admit(addr("192.0.2.1"), t0));
    EXPECT_EQ(held.back().refusal(), Refusal::kNone);
  }
  Admission::Ticket fourth = a.admit(addr("192.0.2.1"), t0);
  EXPECT_EQ(fourth.refusal(), Refusal::kMaxConnectionsPerIp);
  EXPECT_TRUE(fourth.holds_place());  // its socket is open (it may still ask for plain HTTP)
  EXPECT_EQ(a.admit(addr("192.0.2.2"), t0).refusal(), Refusal::kNone);  // another address
  EXPECT_EQ(a.open(), 4u);  // the three and the refused one; the other ended at once

  fourth = Admission::Ticket();
  held.pop_back();
  EXPECT_EQ(a.open(), 2u);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kNone);
}

TEST(Admission, TheServerTotalCountsEveryAddress) {
  Admission a(limits(2, 10, 1000, 1000));
  Admission::Ticket one = a.admit(addr("192.0.2.1"), t0);
  Admission::Ticket two = a.admit(addr("192.0.2.2"), t0);
  EXPECT_EQ(a.admit(addr("192.0.2.3"), t0).refusal(), Refusal::kMaxConnections);
  one = Admission::Ticket();  // assigning over a ticket gives its place back
  EXPECT_EQ(a.open(), 1u);
  EXPECT_EQ(a.admit(addr("192.0.2.3"), t0).refusal(), Refusal::kNone);
}

TEST(Admission, TwiceOverALimitTheConnectionHoldsNoPlace) {
  Admission a(limits(100, 2, 1000, 1000));
  std::vector<Admission::Ticket> held;
  for (int i = 0; i < 4; ++i) held.push_back(a.admit(addr("192.0.2.1"), t0));
  EXPECT_EQ(held[2].refusal(), Refusal::kMaxConnectionsPerIp);
  EXPECT_TRUE(held[3].holds_place());
  Admission::Ticket fifth = a.admit(addr("192.0.2.1"), t0);
  EXPECT_FALSE(fifth.holds_place());
  EXPECT_EQ(fifth.refusal(), Refusal::kMaxConnectionsPerIp);
  EXPECT_EQ(a.open(), 4u);

  Admission total(limits(2, 100, 1000, 1000));
  for (int i = 0; i < 4; ++i) held.push_back(total.admit(addr("198.51.100.1"), t0));
  Admission::Ticket over = total.admit(addr("198.51.100.2"), t0);
  EXPECT_FALSE(over.holds_place());
  EXPECT_EQ(over.refusal(), Refusal::kMaxConnections);
}

TEST(Admission, NewConnectionsPerAddressFollowATokenBucket) {
  Admission a(limits(100, 100, 2, 3));  // 2 a second, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kNone);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kNewConnectionsPerIp);
  EXPECT_EQ(a.admit(addr("192.0.2.9"), t0).refusal(), Refusal::kNone);  // its own bucket
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 499ms).refusal(), Refusal::kNewConnectionsPerIp);
  // A second after the burst: two tokens (refused connections took none).
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1000ms).refusal(), Refusal::kNone);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1000ms).refusal(), Refusal::kNone);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1000ms).refusal(), Refusal::kNewConnectionsPerIp);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1500ms).refusal(), Refusal::kNone);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1500ms).refusal(), Refusal::kNewConnectionsPerIp);
  // Never more than the burst, however long the pause.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1h).refusal(), Refusal::kNone);
  }
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0 + 1h).refusal(), Refusal::kNewConnectionsPerIp);
}

TEST(Admission, ConnectionsRefusedByACountStillTakeAToken) {
  Admission a(limits(100, 1, 1, 2));
  Admission::Ticket held = a.admit(addr("192.0.2.1"), t0);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kMaxConnectionsPerIp);
  held = Admission::Ticket();
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kNewConnectionsPerIp);
}

TEST(Admission, MovingATicketMovesItsPlace) {
  Admission a(limits(100, 1, 1000, 1000));
  Admission::Ticket first = a.admit(addr("192.0.2.1"), t0);
  Admission::Ticket moved(std::move(first));
  EXPECT_TRUE(moved.holds_place());
  first = Admission::Ticket();  // the moved-from ticket gives nothing back
  EXPECT_EQ(a.open(), 1u);
  EXPECT_EQ(a.admit(addr("192.0.2.1"), t0).refusal(), Refusal::kMaxConnectionsPerIp);
  Admission::Ticket again = std::move(moved);
  EXPECT_EQ(a.open(), 1u);
  again = Admission::Ticket();
  EXPECT_EQ(a.open(), 0u);
}

TEST(Admission, IPv6AddressesCountByTheirSlash64) {
  EXPECT_EQ(address_key(addr("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key(addr("2001:db8:1:2:ffff::9")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key(addr("2001:db8:1:3::1")), "2001:db8:1:3::/64");
  EXPECT_EQ(address_key(addr("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(address_key(addr("192.0.2.7")), "192.0.2.7");

  Admission a(limits(100, 2, 1000, 1000));
  Admission::Ticket one = a.admit(addr("2001:db8:1:2::1"), t0);
  Admission::Ticket two = a.admit(addr("2001:db8:1:2::2"), t0);
  EXPECT_EQ(a.admit(addr("2001:db8:1:2::3"), t0).refusal(), Refusal::kMaxConnectionsPerIp);
  EXPECT_EQ(a.admit(addr("2001:db8:1:99::1"), t0).refusal(), Refusal::kNone);
}

TEST(Admission, IdleAddressesAreForgottenOnceTheirBucketIsFull) {
  Admission a(limits(1000, 10, 10, 5));
  Admission::Ticket kept = a.admit(addr("198.51.100.1"), t0);
  for (int i = 0; i < 254; ++i) {
    const std::string text = "192.0.2." + std::to_string(i + 1);
    a.admit(addr(text.c_str()), t0);  // admitted and ended at once
  }
  EXPECT_EQ(a.tracked_addresses(), 255u);
  // The 256th admission sweeps: after 0.1 s every bucket (one token short) is full again, but
  // the address with an open connection stays.
  a.admit(addr("203.0.113.1"), t0 + 100ms);
  EXPECT_EQ(a.tracked_addresses(), 2u);  // the open one and the newest
  EXPECT_EQ(a.open(), 1u);
}

}  // namespace
}  // namespace ws::net::detail

namespace ws::net::detail {
namespace {

/// Admits one connection from `ip` and gives it a closer that records `name` when called.
Admission::Ticket evictable(Admission& a, const char* ip, std::vector<std::string>& closed,
                            std::string name) {
  Admission::Ticket t = a.admit(addr(ip), t0);
  t.set_closer([&closed, name] { closed.push_back(name); });
  return t;
}

TEST(Eviction, AtMaxConnectionsTheOldestUnboundConnectionMakesRoom) {
  Admission a(limits(3, 10, 1000, 1000));
  std::vector<std::string> closed;
  Admission::Ticket member = evictable(a, "192.0.2.1", closed, "member");
  member.set_bound(true);  // bound members are never evicted
  Admission::Ticket idle1 = evictable(a, "192.0.2.2", closed, "idle1");
  Admission::Ticket idle2 = evictable(a, "192.0.2.3", closed, "idle2");
  EXPECT_EQ(a.evictable(), 2u);

  Admission::Ticket newcomer = a.admit(addr("198.51.100.9"), t0);
  EXPECT_EQ(newcomer.refusal(), Refusal::kNone);
  EXPECT_TRUE(newcomer.evicted_another());
  EXPECT_EQ(closed, std::vector<std::string>{"idle1"});
  EXPECT_EQ(a.evictions(), 1u);
  EXPECT_EQ(a.open(), 4u) << "the evicted one counts until it has closed";
  idle1 = Admission::Ticket();

  // A ticket without a closer (nothing to close it with) is not evictable either; when a
  // member leaves it is evictable again, by its age.
  Admission::Ticket second = a.admit(addr("198.51.100.10"), t0);
  EXPECT_TRUE(second.evicted_another());
  EXPECT_EQ(closed, (std::vector<std::string>{"idle1", "idle2"}));
  member.set_bound(false);
  Admission::Ticket third = a.admit(addr("198.51.100.11"), t0);
  EXPECT_EQ(closed, (std::vector<std::string>{"idle1", "idle2", "member"}));
}

TEST(Eviction, NothingEvictableMeans503AndAnAddressOverItsLimitEvictsNobody) {
  Admission a(limits(2, 1, 1000, 1000));
  std::vector<std::string> closed;
  Admission::Ticket one = evictable(a, "192.0.2.1", closed, "one");
  Admission::Ticket two = evictable(a, "192.0.2.2", closed, "two");
  Admission::Ticket same = a.admit(addr("192.0.2.1"), t0);  // over its per-address limit
  EXPECT_EQ(same.refusal(), Refusal::kMaxConnectionsPerIp);
  EXPECT_TRUE(closed.empty());
  one.set_bound(true);
  two.set_bound(true);
  Admission::Ticket refused = a.admit(addr("192.0.2.3"), t0);
  EXPECT_EQ(refused.refusal(), Refusal::kMaxConnections);
  EXPECT_FALSE(refused.evicted_another());
  EXPECT_TRUE(closed.empty());
}

TEST(Eviction, MaxHeldBoundsTheSocketsHeldWhateverTheRefusals) {
  AdmissionLimits l = limits(2, 100, 1000, 1000);
  l.max_held = 3;
  Admission a(l);
  std::vector<Admission::Ticket> held;
  for (int i = 0; i < 3; ++i) held.push_back(a.admit(addr("192.0.2.1"), t0));
  EXPECT_EQ(held[2].refusal(), Refusal::kMaxConnections);  // answered (plain HTTP, 503)
  EXPECT_FALSE(a.admit(addr("192.0.2.2"), t0).holds_place()) << "past max_held: unanswered";
}

}  // namespace
}  // namespace ws::net::detail
