// address_key(): IPv4 as is, IPv6 by /64, v4-mapped as IPv4 (PROTOCOL.md §10).
#include "core/address_key.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace ws::core {

std::string address_key(std::string_view address) {
  std::string text(address.substr(0, address.find('%')));  // a zone id names no host
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) {
    const bool v4_mapped =
        std::all_of(v6.begin(), v6.begin() + 10, [](auto b) { return b == 0; }) && v6[10] == 0xff &&
        v6[11] == 0xff;
    char out[INET6_ADDRSTRLEN];
    if (v4_mapped) {
      return inet_ntop(AF_INET, v6.data() + 12, out, sizeof out) ? std::string(out) : text;
    }
    std::fill(v6.begin() + 8, v6.end(), 0);  // one /64 is one subscriber (RFC 6177)
    return inet_ntop(AF_INET6, v6.data(), out, sizeof out) ? std::string(out) + "/64" : text;
  }
  std::array<unsigned char, 4> v4{};
  if (inet_pton(AF_INET, text.c_str(), v4.data()) == 1) {
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, v4.data(), out, sizeof out) ? std::string(out) : text;
  }
  return std::string(address);
}

}  // namespace ws::core
