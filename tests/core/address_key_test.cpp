// core::address_key(): the one key of every per-address limit (IPv4 address, IPv6 /64).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/address_key.hpp"

namespace ws::core {
namespace {

TEST(AddressKey, IPv4AsIsIPv6ByItsSlash64MappedAsIPv4) {
  struct Case {
    std::string name, input, want;
  };
  const std::vector<Case> cases = {
      {"IPv4", "192.0.2.7", "192.0.2.7"},
      {"IPv4 loopback", "127.0.0.2", "127.0.0.2"},
      {"IPv6 host of a /64", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
      {"another host of the same /64", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
      {"the /64's first address", "2001:db8:1:2::", "2001:db8:1:2::/64"},
      {"a neighbouring /64", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
      {"written out in full, upper case", "2001:0DB8:0001:0002:0000:0000:0000:0009",
       "2001:db8:1:2::/64"},
      {"v4-mapped", "::ffff:192.0.2.7", "192.0.2.7"},
      {"v4-mapped in hex", "::ffff:c000:0207", "192.0.2.7"},
      {"IPv6 loopback", "::1", "::/64"},
      {"link-local with a zone", "fe80::1:2:3:4%eth0", "fe80::/64"},
      {"in brackets", "[2001:db8:1:2::5]", "2001:db8:1:2::/64"},
      {"not an address", "unknown", "unknown"},
      {"empty", "", ""},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    EXPECT_EQ(address_key(tc.input), tc.want);
  }
}

TEST(AddressKey, HostsOfOneSlash64ShareAKeyAndOthersDoNot) {
  const std::string base = address_key("2001:db8:abcd:12::1");
  for (int i = 2; i < 32; ++i) {
    EXPECT_EQ(address_key("2001:db8:abcd:12:" + std::to_string(i) + "::" + std::to_string(i)),
              base);
  }
  EXPECT_NE(address_key("2001:db8:abcd:13::1"), base);
  EXPECT_NE(address_key("2001:db8:abcd:12::1"), address_key("2001:db8:abce:12::1"));
  EXPECT_NE(address_key("192.0.2.1"), address_key("192.0.2.2"));
}

}  // namespace
}  // namespace ws::core
