// Domain and protocol errors as values, with the wire codes of PROTOCOL.md §5.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace ws::core {

/// The `alert` codes of PROTOCOL.md §5. (`destroyed` is a reply event, not an alert.)
enum class ErrorCode {
  kBadRequest,
  kTooLarge,
  kUnknownEvent,
  kTokenMissing,
  kTokenInvalid,
  kTokenExpired,
  kTokenRevoked,
  kForbidden,
  kPinInvalid,
  kRateLimited,
  kNotFound,
  kConflict,
  kUnavailable,
  kInternal,
};

/// Wire spelling of a code ("bad_request", ...).
std::string_view to_string(ErrorCode code);

/// One error. `field` is the dotted path of the offending field (bad_request/too_large),
/// `retry_after` whole seconds (rate_limited), 0 when not applicable.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;
  int retry_after = 0;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message, std::string field = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(field), 0});
}

}  // namespace ws::core
