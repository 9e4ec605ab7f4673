// Decodes and validates one client frame: native (PROTOCOL.md §2, §4) or Socket.IO (§7).
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

/// Decodes one Socket.IO EVENT packet of namespace "/" as the net layer hands it over, without
/// the Engine.IO type: `2["<event>",<data>]` or `2<ack id>["<event>",<data>]` (PROTOCOL.md §7),
/// into the same Request as parse() through the same validation path. The ack id becomes the
/// request `id`, so the Engine's direct reply goes back as the ack `43<id>[...]`; arguments after
/// `data` are ignored. A payload that is not a JSON array, an empty array or a non-string event
/// name is a frame-level `bad_request` (answered as the ack when an ack id was read). Same
/// guarantees as parse(): never throws, pure, thread-safe.
core::Request parse_socketio(std::string_view packet) noexcept;

}  // namespace ws::proto
