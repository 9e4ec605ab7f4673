// HS256 JWT signing and verification (RFC 7515/7519, RFC 8725 rules) on OpenSSL and Boost.JSON.
#include "auth/jwt.hpp"

#include "auth/sodium_init.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

namespace ws::auth {
namespace {

namespace json = boost::json;

// EVP_EncodeBlock/EVP_DecodeBlock take int lengths, so long inputs go through in chunks. A
// multiple of 12 is a whole number of 3-byte groups (encode) and of 4-character groups (decode).
constexpr std::size_t kChunk = 12 * 1024;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes_of(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

bool is_ascii_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string openssl_hmac(const char* digest, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(), bytes_of(data),
                data.size(), out, sizeof out, &out_len) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

const std::string& header_b64() {
  static const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  return header;
}

tl::unexpected<core::Error> invalid(std::string message) {
  return core::fail(core::ErrorCode::kTokenInvalid, std::move(message));
}

std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

// The verified payload as a JSON object, provided its `typ` claim is exactly `typ`.
core::Result<json::object> claims_of_type(std::string_view payload, std::string_view typ) {
  auto claims = parse_object(payload);
  if (!claims) return invalid("token payload is not a JSON object");
  const json::value* value = claims->if_contains("typ");
  if (value == nullptr || !value->is_string() || value->get_string() != typ) {
    return invalid("token is not an " + std::string(typ) + " token");
  }
  return std::move(*claims);
}

// Reads typed claims, remembering the first one that is missing or malformed so the error can
// name it. Unknown claims are ignored (RFC 7519 §4).
class ClaimReader {
 public:
  explicit ClaimReader(const json::object& claims) : claims_(claims) {}

  // A non-empty string of at most kMaxIdClaimChars bytes.
  std::string id(std::string_view name) {
    const json::value* value = claims_.if_contains(name);
    if (value == nullptr || !value->is_string() || value->get_string().empty() ||
        value->get_string().size() > kMaxIdClaimChars) {
      reject(name);
      return {};
    }
    return std::string(value->get_string());
  }

  bool flag(std::string_view name) {
    const json::value* value = claims_.if_contains(name);
    if (value == nullptr || !value->is_bool()) {
      reject(name);
      return false;
    }
    return value->get_bool();
  }

  // Unix seconds: a non-negative JSON integer (no fraction, no exponent).
  std::int64_t seconds(std::string_view name) {
    const json::value* value = claims_.if_contains(name);
    if (value == nullptr || !value->is_int64() || value->get_int64() < 0) {
      reject(name);
      return 0;
    }
    return value->get_int64();
  }

  std::optional<core::Error> error() const {
    if (bad_.empty()) return std::nullopt;
    return invalid("token claim '" + std::string(bad_) + "' is missing or malformed").value();
  }

 private:
  void reject(std::string_view name) {
    if (bad_.empty()) bad_ = name;
  }

  const json::object& claims_;
  std::string_view bad_;
};

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string text = base64_encode(bytes);
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  text.erase(text.find_last_not_of('=') + 1);
  return text;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no group of 4 ever leaves 1 character over
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!is_ascii_alnum(c)) {
      return std::nullopt;
    }
  }
  const std::size_t padding = (4 - text.size() % 4) % 4;
  standard.append(padding, '=');

  // EVP_DecodeBlock yields 3 bytes per group, counting the padding as zero bytes.
  std::string bytes(standard.size() / 4 * 3, '\0');
  std::size_t written = 0;
  for (std::size_t pos = 0; pos < standard.size(); pos += kChunk) {
    const std::string_view piece = std::string_view(standard).substr(pos, kChunk);
    const int n =
        EVP_DecodeBlock(bytes_of(bytes) + written, bytes_of(piece), static_cast<int>(piece.size()));
    if (n < 0) return std::nullopt;
    written += static_cast<std::size_t>(n);
  }
  bytes.resize(written - padding);

  // The decoder ignores the spare low bits of the last character; insisting on the canonical
  // spelling gives every token exactly one encoding.
  if (base64url_encode(bytes) != text) return std::nullopt;
  return bytes;
}

std::string base64_encode(std::string_view bytes) {
  std::string text((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  std::size_t written = 0;
  for (std::size_t pos = 0; pos < bytes.size(); pos += kChunk) {
    const std::string_view piece = bytes.substr(pos, kChunk);
    written += static_cast<std::size_t>(
        EVP_EncodeBlock(bytes_of(text) + written, bytes_of(piece), static_cast<int>(piece.size())));
  }
  text.resize(written);
  return text;
}

// HMAC-SHA256 comes from libsodium: no per-call algorithm fetch (OpenSSL 3's EVP_Q_mac looks
// the algorithm up in its provider tables on every call, a few microseconds each). SHA-1 has no
// libsodium equivalent and is needed only for TURN REST credentials.
std::string hmac_sha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, bytes_of(key), key.size());
  crypto_auth_hmacsha256_update(&state, bytes_of(data), data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, bytes_of(out));
  return out;
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  return openssl_hmac("SHA1", key, data);
}

JwtCodec::JwtCodec(std::string secret) {
  init_sodium();
  crypto_auth_hmacsha256_init(&keyed_, bytes_of(secret), secret.size());
  sodium_memzero(secret.data(), secret.size());
}

std::string JwtCodec::mac(std::string_view data) const {
  crypto_auth_hmacsha256_state state = keyed_;
  crypto_auth_hmacsha256_update(&state, bytes_of(data), data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, bytes_of(out));
  sodium_memzero(&state, sizeof state);
  return out;
}

std::string JwtCodec::sign_access(const core::AccessClaims& claims) const {
  return sign(json::serialize(json::object{
      {"typ", "access"},
      {"wid", claims.wid.value},
      {"aid", claims.aid.value},
      {"own", claims.own},
      {"iat", claims.iat},
      {"exp", claims.exp},
      {"jti", claims.jti},
  }));
}

std::string JwtCodec::sign_invite(const core::InviteClaims& claims) const {
  return sign(json::serialize(json::object{
      {"typ", "invite"},
      {"wid", claims.wid.value},
      {"iat", claims.iat},
  }));
}

core::Result<core::AccessClaims> JwtCodec::verify_access(std::string_view token,
                                                         std::int64_t now_unix_s) const {
  auto payload = verified_payload(token);
  if (!payload) return tl::make_unexpected(std::move(payload.error()));
  auto claims = claims_of_type(*payload, "access");
  if (!claims) return tl::make_unexpected(std::move(claims.error()));

  ClaimReader read(*claims);
  core::AccessClaims access{
      .wid = {read.id("wid")},
      .aid = {read.id("aid")},
      .own = read.flag("own"),
      .iat = read.seconds("iat"),
      .exp = read.seconds("exp"),
      .jti = read.id("jti"),
  };
  if (auto error = read.error()) return tl::make_unexpected(std::move(*error));
  if (access.exp <= now_unix_s) {
    return core::fail(core::ErrorCode::kTokenExpired, "access token has expired");
  }
  return access;
}

core::Result<core::InviteClaims> JwtCodec::verify_invite(std::string_view token) const {
  auto payload = verified_payload(token);
  if (!payload) return tl::make_unexpected(std::move(payload.error()));
  auto claims = claims_of_type(*payload, "invite");
  if (!claims) return tl::make_unexpected(std::move(claims.error()));

  ClaimReader read(*claims);
  core::InviteClaims invite{.wid = {read.id("wid")}, .iat = read.seconds("iat")};
  if (auto error = read.error()) return tl::make_unexpected(std::move(*error));
  return invite;
}

std::string JwtCodec::sign(std::string_view payload_json) const {
  std::string token = header_b64() + '.' + base64url_encode(payload_json);
  const std::string signature = mac(token);
  token += '.';
  token += base64url_encode(signature);
  return token;
}

core::Result<std::string> JwtCodec::verified_payload(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenBytes) return invalid("token is empty or too long");
  if (std::count(token.begin(), token.end(), '.') != 2) {
    return invalid("token does not have three parts");
  }
  const std::size_t first_dot = token.find('.');
  const std::size_t last_dot = token.rfind('.');
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, last_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(last_dot + 1);

  const auto header_json = base64url_decode(header_part);
  const auto header = header_json ? parse_object(*header_json) : std::nullopt;
  if (!header) return invalid("token header is not a JSON object");
  // RFC 8725 §2.1, §3.1: only the algorithm we issue is accepted; never `none`, never another.
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") {
    return invalid("token algorithm is not HS256");
  }
  // RFC 7515 §4.1.11: we implement no extensions, so a token that lists critical ones is unusable.
  if (header->contains("crit")) return invalid("token header has unsupported critical extensions");

  // Constant-time comparison, and nothing in the payload is looked at before it passes.
  const std::string expected = mac(token.substr(0, last_dot));
  const auto signature = base64url_decode(signature_part);
  if (!signature || signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return invalid("token signature is invalid");
  }

  auto payload = base64url_decode(payload_part);
  if (!payload) return invalid("token payload is not base64url");
  return std::move(*payload);
}

}  // namespace ws::auth
