// TURN REST credentials (the coturn `use-auth-secret` scheme).
#include "ice/turn_rest.hpp"

#include <boost/json/object.hpp>

#include "auth/jwt.hpp"

namespace ws::ice {

namespace json = boost::json;

std::string turn_rest_username(std::int64_t expiry_unix, std::string_view delimiter,
                               std::string_view attendee) {
  std::string username = std::to_string(expiry_unix);
  username += delimiter;
  username += attendee;
  return username;
}

std::string turn_rest_credential(std::string_view secret, std::string_view username) {
  return auth::base64_encode(auth::hmac_sha1(secret, username));
}

TurnRestIceProvider::TurnRestIceProvider(TurnRestOptions options, UnixNow now)
    : options_(std::move(options)), now_(std::move(now)) {}

namespace {
json::array url_array(const std::vector<std::string>& urls) {
  json::array out;
  for (const auto& u : urls) out.emplace_back(u);
  return out;
}
}  // namespace

void TurnRestIceProvider::fetch(const std::optional<core::AttendeeId>& attendee, Done done) {
  if (!attendee || attendee->empty()) {
    done(core::fail(core::ErrorCode::kUnavailable, "TURN REST credentials are per attendee"));
    return;
  }
  const std::string username =
      turn_rest_username(now_() + options_.ttl_seconds, options_.delimiter, attendee->value);
  json::array servers;
  if (!options_.stun_urls.empty()) {
    servers.push_back(json::object{{"urls", url_array(options_.stun_urls)}});
  }
  servers.push_back(json::object{{"urls", url_array(options_.turn_urls)},
                                 {"username", username},
                                 {"credential", turn_rest_credential(options_.secret, username)}});
  done(std::move(servers));
}

}  // namespace ws::ice
