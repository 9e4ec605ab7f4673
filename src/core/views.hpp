// JSON views of domain objects as the wire shows them (PROTOCOL.md §4 payload shapes).
#pragma once

#include <boost/json/object.hpp>

#include "core/state.hpp"

namespace ws::core::views {

namespace json = boost::json;

/// `{id,name,avatar}`: who sent or is concerned by an event.
json::object brief(const AttendeeRecord& a);
/// `{id,name,avatar,mic,cam,online}`: an attendee as listed in `attendees`.
json::object attendee(const AttendeeRecord& a, bool online);
/// `{id, started, participants}`.
json::object call(const CallRecord& c);
/// `{id}`.
json::object id_only(const std::string& id);

}  // namespace ws::core::views
