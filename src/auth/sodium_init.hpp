// Private to auth/: one-time libsodium initialisation shared by the PIN hasher and the CSPRNG.
#pragma once

#include <sodium.h>

#include <stdexcept>

namespace ws::auth {

/// Initialises libsodium; idempotent and thread-safe (sodium_init itself is). Throws
/// std::runtime_error if libsodium cannot be initialised (no usable entropy source).
inline void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace ws::auth
