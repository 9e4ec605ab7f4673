// Slow salted PIN hashing (Argon2id with a pepper) for PIN-protected workspaces, PROTOCOL.md §3.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace ws::auth {

/// Hashes and verifies workspace PINs with libsodium's Argon2id. The input to Argon2id is
/// HMAC-SHA256(pepper, pin), so the pepper (`SALT_STRING`) is mixed in but never stored; the
/// random salt and the cost parameters live in the hash string itself.
/// Immutable after construction and thread-safe: hash and verify are deliberately slow (tens of
/// milliseconds, tens of MiB) and belong on a worker pool, never on an I/O thread.
class PinHasher {
 public:
  /// Keeps its own copy of `pepper`. The limits are libsodium's crypto_pwhash ops/mem limits
  /// for new hashes (tests pass crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN for speed).
  /// Throws std::runtime_error if libsodium cannot be initialised (startup only).
  explicit PinHasher(std::string pepper,
                     unsigned long long opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE,
                     std::size_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE);

  /// A "$argon2id$..." string with a fresh random salt. Error kInternal if Argon2id fails
  /// (out of memory).
  core::Result<std::string> hash(std::string_view pin) const;

  /// Whether `pin` matches `stored` (a string from hash()), in constant time. False for any
  /// malformed `stored`. Uses the cost parameters recorded in `stored`.
  bool verify(std::string_view pin, std::string_view stored) const;

 private:
  std::string peppered(std::string_view pin) const;

  std::string pepper_;
  unsigned long long opslimit_;
  std::size_t memlimit_;
};

}  // namespace ws::auth
