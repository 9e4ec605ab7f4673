// The one key every per-address limit counts by (PROTOCOL.md §10): pure text in, text out.
#pragma once

#include <string>
#include <string_view>

namespace ws::core {

/// The key of a client address for every per-address limit: an IPv4 address as it is, an IPv6
/// address by its /64 ("2001:db8:1:2::/64"), an IPv4-mapped IPv6 address as its IPv4 address.
/// A zone ("%eth0") is dropped. Text that is no address at all is its own key. Pure, any thread.
std::string address_key(std::string_view address);

}  // namespace ws::core
