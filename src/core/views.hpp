// JSON views of domain objects as the wire shows them (PROTOCOL.md §4 payload shapes).
#pragma once

#include <boost/json/object.hpp>

#include <string_view>

#include "core/error.hpp"
#include "core/messages.hpp"
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

/// The `alert` answering a request (PROTOCOL.md §5): data `{code, message, event?, nonce?,
/// retryAfter?, field?}`; `re` is the request id (null: none).
ServerMessage alert(const Error& error, std::string_view event_name, const json::value& nonce,
                    const json::value& re);

}  // namespace ws::core::views
