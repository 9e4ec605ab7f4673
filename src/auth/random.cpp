// Random ids and secrets from libsodium's CSPRNG.
#include "auth/random.hpp"

#include <cstdint>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/sodium_init.hpp"

namespace ws::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static_assert(kAlphabet.size() == 62);

}  // namespace

CsprngRandom::CsprngRandom() {
  init_sodium();
}

std::string CsprngRandom::alnum(std::size_t len) {
  std::string out(len, '\0');
  // randombytes_uniform avoids modulo bias.
  for (char& c : out)
    c = kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
  return out;
}

std::string random_secret(std::size_t bytes) {
  init_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string secret = base64url_encode(raw);
  sodium_memzero(raw.data(), raw.size());
  return secret;
}

}  // namespace ws::auth
