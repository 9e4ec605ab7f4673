// UTF-8 checks for untrusted text: well-formedness, code point counts, control characters.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ws::proto {

// All pure and thread-safe.

/// Number of Unicode code points in `text`, or nullopt when it is not well-formed UTF-8
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF, no cut sequence).
std::optional<std::size_t> code_points(std::string_view text) noexcept;

/// Whether well-formed UTF-8 `text` holds a control character (Unicode category Cc:
/// U+0000..U+001F, U+007F..U+009F).
bool has_control(std::string_view text) noexcept;

/// Whether well-formed UTF-8 `text` holds a bidirectional embedding, override or isolate
/// control (U+202A..U+202E, U+2066..U+2069): in a name they reorder what others see around
/// it (a name that displays as someone else's, or spills into the next field).
bool has_bidi_control(std::string_view text) noexcept;

/// The longest prefix of well-formed UTF-8 `text` with at most `max` code points; a view into
/// `text`, never cutting a code point.
std::string_view truncate(std::string_view text, std::size_t max) noexcept;

}  // namespace ws::proto
