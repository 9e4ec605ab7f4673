// JSON views of domain objects as the wire shows them.
#include "core/views.hpp"

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

json::object id_only(const std::string& id) { return {{"id", id}}; }

}  // namespace ws::core::views
