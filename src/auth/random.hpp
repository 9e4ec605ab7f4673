// Cryptographically secure random ids and secrets, on libsodium (PROTOCOL.md §3).
#pragma once

#include <cstddef>
#include <string>

#include "core/ports.hpp"

namespace ws::auth {

/// core::RandomSource over libsodium's CSPRNG. Stateless; safe to share between threads.
class CsprngRandom final : public core::RandomSource {
 public:
  /// Throws std::runtime_error if libsodium cannot be initialised (startup only).
  CsprngRandom();

  /// `len` characters drawn uniformly and independently from [A-Za-z0-9].
  std::string alnum(std::size_t len) override;
};

/// base64url (no padding) of `bytes` CSPRNG bytes: an ephemeral development-mode secret.
/// Throws std::runtime_error if libsodium cannot be initialised.
std::string random_secret(std::size_t bytes = 32);

}  // namespace ws::auth
