// HS256 JSON Web Tokens for access and invite tokens (PROTOCOL.md §3), plus the base64 and
// HMAC helpers they are built from (also used for TURN REST credentials, §6).
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ports.hpp"

namespace ws::auth {

/// Longest token `JwtCodec` accepts; anything longer is kTokenInvalid without being parsed.
inline constexpr std::size_t kMaxTokenBytes = 4096;

/// Longest id claim (`wid`, `aid`, `jti`) a token may carry.
inline constexpr std::size_t kMaxIdClaimChars = 64;

/// base64url (RFC 4648 §5) without padding.
std::string base64url_encode(std::string_view bytes);

/// Strict inverse of base64url_encode: only the canonical unpadded encoding is accepted (no
/// padding, whitespace, standard-alphabet characters, impossible lengths or non-zero spare bits).
std::optional<std::string> base64url_decode(std::string_view text);

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);

/// Raw 32-byte HMAC-SHA256 of `data` under `key` (libsodium).
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Raw 20-byte HMAC-SHA1 of `data` under `key` (TURN REST credentials, PROTOCOL.md §6).
std::string hmac_sha1(std::string_view key, std::string_view data);

/// Compact JWS tokens signed with HMAC-SHA256 under one secret (`MAGICK_TOKEN`).
/// Immutable after construction, so one instance may be shared by any number of threads.
class JwtCodec final : public core::TokenCodec {
 public:
  /// Keeps its own copy of `secret` for its lifetime.
  explicit JwtCodec(std::string secret);

  /// Claims are signed as given: claims that verification refuses (empty or over-long ids,
  /// negative times) give a token that never verifies.
  std::string sign_access(const core::AccessClaims& claims) const override;
  std::string sign_invite(const core::InviteClaims& claims) const override;
  core::Result<core::AccessClaims> verify_access(std::string_view token,
                                                 std::int64_t now_unix_s) const override;
  core::Result<core::InviteClaims> verify_invite(std::string_view token) const override;

 private:
  std::string sign(std::string_view payload_json) const;
  /// The verified payload JSON: structure, header, alg and signature checked, nothing else.
  core::Result<std::string> verified_payload(std::string_view token) const;

  /// HMAC-SHA256 of `data` under the secret, from the keyed state prepared once.
  std::string mac(std::string_view data) const;

  /// libsodium's HMAC-SHA256 state after absorbing the secret (its inner and outer pads):
  /// each token copies it instead of hashing the key again.
  crypto_auth_hmacsha256_state keyed_;
};

}  // namespace ws::auth
