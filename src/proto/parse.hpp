// Decodes and validates one client frame of the native protocol (PROTOCOL.md §2, §4).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/messages.hpp"

namespace ws::proto {

/// Field limits of PROTOCOL.md §2 and §4. "Characters" are Unicode code points.
inline constexpr std::size_t kMaxNameChars = 64;       // workspace.name, attendee.name
inline constexpr std::size_t kMaxPinChars = 64;        // workspace.pin
inline constexpr std::size_t kMaxAvatarBytes = 16384;  // workspace.avatar, attendee.avatar
inline constexpr std::size_t kMaxIdChars = 64;     // request id; attendee, callee, caller, call ids
inline constexpr std::size_t kMaxNonceChars = 64;  // data.nonce
/// Longest prefix of an unknown `event` kept in Request::event_name (echoed by the alert).
inline constexpr std::size_t kMaxEventNameChars = 64;

/// Decodes one text frame into a Request; the only place untrusted input is validated.
///
/// Never throws and never fails as a whole: every problem is recorded in the Request so the
/// Engine can answer it in the order of PROTOCOL.md §2:
/// - `frame_error` (bad_request / unknown_event) for bad JSON, a non-object frame, a bad
///   `event` or `id`; `event` is then nullopt (`event.has_value() == !frame_error`).
/// - `access_token` / `invite_token` for the auth checks, read even when fields are bad.
/// - `payload`: the typed payload, or the first field error (bad_request / too_large with
///   the dotted `field`), including a non-object `data` and a bad `nonce`.
/// `id` and `nonce` are kept whenever they are valid, even when the frame is rejected, so the
/// alert can carry `re` and `nonce`. A JSON `null` counts as absent for every field.
/// Pure function, thread-safe; the Request owns all its data.
core::Request parse(std::string_view text) noexcept;

}  // namespace ws::proto
