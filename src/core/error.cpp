// Wire spellings of the alert codes.
#include "core/error.hpp"

namespace ws::core {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kUnknownEvent:
      return "unknown_event";
    case ErrorCode::kTokenMissing:
      return "token_missing";
    case ErrorCode::kTokenInvalid:
      return "token_invalid";
    case ErrorCode::kTokenExpired:
      return "token_expired";
    case ErrorCode::kTokenRevoked:
      return "token_revoked";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kPinInvalid:
      return "pin_invalid";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace ws::core
