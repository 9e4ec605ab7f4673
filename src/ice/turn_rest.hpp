// TURN REST credentials for a coturn `use-auth-secret` server (PROTOCOL.md §6, item 3).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ice/ice_provider.hpp"

namespace ws::ice {

struct TurnRestOptions {
  std::string secret;                  // TURN_SECRET = coturn's static-auth-secret
  std::string delimiter = ":";         // tokenDelimiter (coturn's default separator is ':')
  std::vector<std::string> turn_urls;  // turn:/turns: URLs the credential is for
  std::vector<std::string> stun_urls;  // sent along, without credentials
  std::int64_t ttl_seconds = 86400;    // turn_ttl_seconds
};

/// `username = <unix expiry><delimiter><attendee id>`.
std::string turn_rest_username(std::int64_t expiry_unix, std::string_view delimiter,
                               std::string_view attendee);

/// `base64(HMAC-SHA1(secret, username))`.
std::string turn_rest_credential(std::string_view secret, std::string_view username);

/// A fresh credential per attendee per request: `[{urls: stun_urls}?, {urls: turn_urls,
/// username, credential}]`. Needs an attendee (outside development mode `iceservers` always
/// has one); without one it fails so that the next provider answers. Never blocks.
class TurnRestIceProvider final : public IceProvider {
 public:
  using UnixNow = std::function<std::int64_t()>;
  TurnRestIceProvider(TurnRestOptions options, UnixNow now);
  void fetch(const std::optional<core::AttendeeId>& attendee, Done done) override;
  std::string name() const override { return "turn-rest"; }

 private:
  TurnRestOptions options_;
  UnixNow now_;
};

}  // namespace ws::ice
