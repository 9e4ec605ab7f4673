// Interfaces the Engine calls synchronously and deterministically: token signing and
// verification, and random ids. Implemented in auth/ (OpenSSL, libsodium); faked in tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace ws::core {

/// Claims of an access token (PROTOCOL.md §3), typ "access". Times in unix seconds.
struct AccessClaims {
  WorkspaceId wid;
  AttendeeId aid;
  bool own = false;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::string jti;
  friend bool operator==(const AccessClaims&, const AccessClaims&) = default;
};

/// Claims of an invite (workspace) token, typ "invite".
struct InviteClaims {
  WorkspaceId wid;
  std::int64_t iat = 0;
  friend bool operator==(const InviteClaims&, const InviteClaims&) = default;
};

/// Signs and verifies tokens. Stateless and thread-safe after construction.
class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual std::string sign_access(const AccessClaims& claims) const = 0;
  virtual std::string sign_invite(const InviteClaims& claims) const = 0;
  /// Checks structure, alg (HS256 only), signature, typ "access", then exp against now.
  /// Errors: kTokenInvalid (anything malformed, wrong alg/typ/signature), kTokenExpired.
  virtual Result<AccessClaims> verify_access(std::string_view token,
                                             std::int64_t now_unix_s) const = 0;
  /// Same for typ "invite" (which has no exp). Errors: kTokenInvalid.
  virtual Result<InviteClaims> verify_invite(std::string_view token) const = 0;
};

/// Source of random identifiers. Called only from the Engine's strand.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  /// `len` characters drawn uniformly from [A-Za-z0-9].
  virtual std::string alnum(std::size_t len) = 0;
};

}  // namespace ws::core
