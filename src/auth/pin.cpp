// Argon2id PIN hashing with a pepper, on libsodium.
#include "auth/pin.hpp"

#include "auth/jwt.hpp"
#include "auth/sodium_init.hpp"

namespace ws::auth {

PinHasher::PinHasher(std::string pepper, unsigned long long opslimit, std::size_t memlimit)
    : pepper_(std::move(pepper)), opslimit_(opslimit), memlimit_(memlimit) {
  init_sodium();
}

core::Result<std::string> PinHasher::hash(std::string_view pin) const {
  const std::string input = peppered(pin);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, input.data(), input.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::fail(core::ErrorCode::kInternal, "PIN hashing failed");
  }
  return std::string(out);
}

bool PinHasher::verify(std::string_view pin, std::string_view stored) const {
  // libsodium reads a NUL-terminated string of less than crypto_pwhash_STRBYTES bytes.
  if (stored.size() >= crypto_pwhash_STRBYTES || stored.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string terminated(stored);
  const std::string input = peppered(pin);
  return crypto_pwhash_str_verify(terminated.c_str(), input.data(), input.size()) == 0;
}

std::string PinHasher::peppered(std::string_view pin) const {
  return hmac_sha256(pepper_, pin);
}

}  // namespace ws::auth
