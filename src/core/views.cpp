// JSON views of domain objects as the wire shows them.
#include "core/views.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

namespace ws::core::views {

json::object brief(const AttendeeRecord& a) {
  return {{"id", a.id.value}, {"name", a.name}, {"avatar", a.avatar}};
}

json::object attendee(const AttendeeRecord& a, bool online) {
  return {{"id", a.id.value}, {"name", a.name}, {"avatar", a.avatar},
          {"mic", a.mic},     {"cam", a.cam},   {"online", online}};
}

json::object call(const CallRecord& c) {
  json::array participants;
  for (const auto& p : c.participants) participants.emplace_back(p.value);
  return {{"id", c.id.value}, {"started", c.started_ms}, {"participants", std::move(participants)}};
}

json::object id_only(const std::string& id) {
  return {{"id", id}};
}

ServerMessage alert(const Error& error, std::string_view event_name, const json::value& nonce,
                    const json::value& re) {
  json::object data{{"code", to_string(error.code)}, {"message", error.message}};
  if (!event_name.empty()) data["event"] = event_name;
  if (!nonce.is_null()) data["nonce"] = nonce;
  // A rate_limited client always learns when to retry: never 0 seconds.
  if (error.code == ErrorCode::kRateLimited) {
    data["retryAfter"] = std::max(error.retry_after, 1);
  } else if (error.retry_after > 0) {
    data["retryAfter"] = error.retry_after;
  }
  if (!error.field.empty()) data["field"] = error.field;
  return ServerMessage{ServerEvent::kAlert, std::move(data), re};
}

}  // namespace ws::core::views
