// Wire names of the client and server events, one table each, indexed by the enum.
#include "proto/names.hpp"

#include <cstddef>
#include <utility>

namespace ws::proto {
namespace {

using core::ClientEvent;
using core::ServerEvent;

constexpr std::pair<ClientEvent, std::string_view> kClientNames[] = {
    {ClientEvent::kIceServers, "iceservers"},
    {ClientEvent::kCreate, "create"},
    {ClientEvent::kAttend, "attend"},
    {ClientEvent::kReAttend, "re-attend"},
    {ClientEvent::kLeave, "leave"},
    {ClientEvent::kDestroy, "destroy"},
    {ClientEvent::kKick, "kick"},
    {ClientEvent::kRing, "ring"},
    {ClientEvent::kAnswer, "answer"},
    {ClientEvent::kBusy, "busy"},
    {ClientEvent::kHangup, "hangup"},
    {ClientEvent::kIceCandidate, "icecandidate"},
    {ClientEvent::kNegotiation, "negotiation"},
    {ClientEvent::kMicToggle, "mic-toggle"},
    {ClientEvent::kCamToggle, "cam-toggle"},
    {ClientEvent::kAttendees, "attendees"},
    {ClientEvent::kRefresh, "refresh"},
};

constexpr std::pair<ServerEvent, std::string_view> kServerNames[] = {
    {ServerEvent::kAlert, "alert"},
    {ServerEvent::kOk, "ok"},
    {ServerEvent::kIceServers, "iceservers"},
    {ServerEvent::kCreated, "created"},
    {ServerEvent::kAttendanceGranted, "attendance-granted"},
    {ServerEvent::kReAttendanceGranted, "re-attendance-granted"},
    {ServerEvent::kAttend, "attend"},
    {ServerEvent::kFull, "full"},
    {ServerEvent::kDestroyed, "destroyed"},
    {ServerEvent::kLeave, "leave"},
    {ServerEvent::kLeft, "left"},
    {ServerEvent::kKicked, "kicked"},
    {ServerEvent::kRing, "ring"},
    {ServerEvent::kRinging, "ringing"},
    {ServerEvent::kRingCancelled, "ring-cancelled"},
    {ServerEvent::kAnswer, "answer"},
    {ServerEvent::kBusy, "busy"},
    {ServerEvent::kHangup, "hangup"},
    {ServerEvent::kIceCandidate, "icecandidate"},
    {ServerEvent::kNegotiation, "negotiation"},
    {ServerEvent::kMicToggle, "mic-toggle"},
    {ServerEvent::kCamToggle, "cam-toggle"},
    {ServerEvent::kAttendees, "attendees"},
    {ServerEvent::kTokenRefreshed, "token-refreshed"},
    {ServerEvent::kReplaced, "replaced"},
    {ServerEvent::kServerShutdown, "server-shutdown"},
};

/// True when row i names enumerator i and the last enumerator is `last`, so lookups by
/// index are exact and no enumerator lacks a name.
template <class E, std::size_t N>
constexpr bool indexed(const std::pair<E, std::string_view> (&table)[N], E last) {
  for (std::size_t i = 0; i < N; ++i)
    if (static_cast<std::size_t>(table[i].first) != i || table[i].second.empty()) return false;
  return static_cast<std::size_t>(last) == N - 1;
}
static_assert(indexed(kClientNames, ClientEvent::kRefresh));
static_assert(indexed(kServerNames, ServerEvent::kServerShutdown));

template <class E, std::size_t N>
std::string_view lookup(const std::pair<E, std::string_view> (&table)[N], E event) {
  const auto index = static_cast<std::size_t>(event);
  return index < N ? table[index].second : std::string_view{};
}

template <class E, std::size_t N>
std::optional<E> reverse_lookup(const std::pair<E, std::string_view> (&table)[N],
                                std::string_view name) {
  for (const auto& [event, spelling] : table)
    if (spelling == name) return event;
  return std::nullopt;
}

}  // namespace

std::string_view name(ClientEvent event) noexcept {
  return lookup(kClientNames, event);
}

std::optional<ClientEvent> client_event(std::string_view name) noexcept {
  return reverse_lookup(kClientNames, name);
}

std::string_view name(ServerEvent event) noexcept {
  return lookup(kServerNames, event);
}

std::optional<ServerEvent> server_event(std::string_view name) noexcept {
  return reverse_lookup(kServerNames, name);
}

}  // namespace ws::proto
