// Wire names of the protocol (PROTOCOL.md §2, §4, §5): the only place they are spelled.
#pragma once

#include <optional>
#include <string_view>

#include "core/messages.hpp"

namespace ws::proto {

/// Wire name of a client event ("attend", "re-attend", ...). Points to static storage.
std::string_view name(core::ClientEvent event) noexcept;

/// The client event spelled `name` (case-sensitive), nullopt when there is none.
std::optional<core::ClientEvent> client_event(std::string_view name) noexcept;

/// Wire name of a server event ("attendance-granted", "alert", ...). Points to static storage.
std::string_view name(core::ServerEvent event) noexcept;

/// The server event spelled `name`, nullopt when there is none (for test clients and tools).
std::optional<core::ServerEvent> server_event(std::string_view name) noexcept;

/// Keys of the frame envelope and of `alert` data that proto reads or writes.
namespace key {
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kData = "data";
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kRe = "re";
inline constexpr std::string_view kNonce = "nonce";
inline constexpr std::string_view kAccessToken = "accessToken";
inline constexpr std::string_view kInviteToken = "workspace.token";  // dotted path in data
inline constexpr std::string_view kCode = "code";
inline constexpr std::string_view kMessage = "message";
inline constexpr std::string_view kRetryAfter = "retryAfter";
inline constexpr std::string_view kField = "field";
}  // namespace key

}  // namespace ws::proto
