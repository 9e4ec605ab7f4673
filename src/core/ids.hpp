// Strong identifier types of the domain: workspaces, attendees, calls, connections, timers.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace ws::core {

/// A string id with a tag so different kinds of ids never mix. Value type.
template <class Tag>
struct StringId {
  std::string value;
  friend auto operator<=>(const StringId&, const StringId&) = default;
  friend bool operator==(const StringId&, const StringId&) = default;
  bool empty() const { return value.empty(); }
};

/// A numeric id with a tag. Value type.
template <class Tag>
struct NumberId {
  std::uint64_t value = 0;
  friend auto operator<=>(const NumberId&, const NumberId&) = default;
  friend bool operator==(const NumberId&, const NumberId&) = default;
};

using WorkspaceId = StringId<struct WorkspaceTag>;
using AttendeeId = StringId<struct AttendeeTag>;
using CallId = StringId<struct CallTag>;
/// One client connection (any transport), assigned by net/, never reused in a process.
using ConnId = NumberId<struct ConnTag>;
/// A timer armed by the Engine (ArmTimer), fired back as TimerFired.
using TimerId = NumberId<struct TimerTag>;
/// One piece of asynchronous work requested by the Engine (HashPin, VerifyPin, FetchIce).
using RequestId = NumberId<struct RequestTag>;

}  // namespace ws::core

template <class Tag>
struct std::hash<ws::core::StringId<Tag>> {
  std::size_t operator()(const ws::core::StringId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.value);
  }
};
template <class Tag>
struct std::hash<ws::core::NumberId<Tag>> {
  std::size_t operator()(const ws::core::NumberId<Tag>& id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value);
  }
};
