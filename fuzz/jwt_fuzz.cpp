// libFuzzer target for auth/jwt: base64url, and HS256 token verification against an independent
// reading of the claims (PROTOCOL.md §3, RFC 7519, RFC 8725).
//
// Each input is used four ways:
// - as base64url text and as bytes: the strict decoder accepts exactly the canonical encodings;
// - as a whole token: whatever verifies has well-formed claims that re-sign to the same claims;
// - as `<header JSON>\n<payload JSON>` (or just the payload JSON, under the header we issue),
//   signed here with HMAC-SHA256 under the secret: verification must agree with the oracle
//   below, and no single-character change, truncation or extension of a token that verifies
//   still verifies;
// - as claims to sign: signing then verifying gives them back exactly when they are valid.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "auth/jwt.hpp"

namespace {

namespace json = boost::json;
using namespace ws;

constexpr std::string_view kSecret = "fuzz-secret";  // the corpus's tokens are signed with it
constexpr std::int64_t kNow = 1700000000;
constexpr std::string_view kIssuedHeader = R"({"alg":"HS256","typ":"JWT"})";

void require(bool condition) {
  if (!condition) std::abort();
}

const auth::JwtCodec& codec() {
  static const auth::JwtCodec instance{std::string(kSecret)};
  return instance;
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void check_base64url(std::string_view input) {
  const std::string text = auth::base64url_encode(input);
  require(text.size() == (input.size() * 4 + 2) / 3);
  for (char c : text) require(is_base64url_char(c));
  require(auth::base64url_decode(text) == std::string(input));

  // Only canonical text decodes: there is exactly one spelling of every byte string.
  if (const auto bytes = auth::base64url_decode(input)) {
    require(auth::base64url_encode(*bytes) == input);
  }
}

/// A verified token is what the codec issues: every id claim 1..64 bytes, times non-negative.
bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= auth::kMaxIdClaimChars;
}

void check_claims(const core::AccessClaims& claims, std::int64_t now) {
  require(valid_id(claims.wid.value) && valid_id(claims.aid.value) && valid_id(claims.jti));
  require(claims.iat >= 0 && claims.exp > now);
  const auto again = codec().verify_access(codec().sign_access(claims), now);
  require(again && *again == claims);
}

void check_claims(const core::InviteClaims& claims) {
  require(valid_id(claims.wid.value) && claims.iat >= 0);
  const auto again = codec().verify_invite(codec().sign_invite(claims));
  require(again && *again == claims);
}

/// The token must be refused, whatever it claims to be.
void require_refused(std::string_view token) {
  require(!codec().verify_access(token, kNow));
  require(!codec().verify_invite(token));
}

// ---- the oracle: PROTOCOL.md §3 read directly off the JSON, without the codec ----

enum class Verdict { kValid, kInvalid, kExpired };

std::optional<json::object> object_of(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

bool header_ok(std::string_view header_json) {
  const auto header = object_of(header_json);
  if (!header) return false;
  const json::value* alg = header->if_contains("alg");
  return alg && alg->is_string() && alg->get_string() == "HS256" && !header->contains("crit");
}

bool id_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v && v->is_string() && !v->get_string().empty() &&
         v->get_string().size() <= auth::kMaxIdClaimChars;
}

bool time_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v && v->is_int64() && v->get_int64() >= 0;
}

bool typ_is(const json::object& claims, std::string_view typ) {
  const json::value* v = claims.if_contains("typ");
  return v && v->is_string() && v->get_string() == typ;
}

Verdict expected_access(const std::optional<json::object>& claims, std::int64_t now) {
  if (!claims || !typ_is(*claims, "access")) return Verdict::kInvalid;
  const json::value* own = claims->if_contains("own");
  if (!id_claim(*claims, "wid") || !id_claim(*claims, "aid") || !id_claim(*claims, "jti") || !own ||
      !own->is_bool() || !time_claim(*claims, "iat") || !time_claim(*claims, "exp")) {
    return Verdict::kInvalid;
  }
  return claims->at("exp").get_int64() > now ? Verdict::kValid : Verdict::kExpired;
}

Verdict expected_invite(const std::optional<json::object>& claims) {
  if (!claims || !typ_is(*claims, "invite")) return Verdict::kInvalid;
  if (!id_claim(*claims, "wid") || !time_claim(*claims, "iat")) return Verdict::kInvalid;
  return Verdict::kValid;
}

template <class T>
Verdict verdict_of(const core::Result<T>& result) {
  if (result) return Verdict::kValid;
  if (result.error().code == core::ErrorCode::kTokenExpired) return Verdict::kExpired;
  require(result.error().code == core::ErrorCode::kTokenInvalid);
  return Verdict::kInvalid;
}

std::string string_claim(const json::object& claims, std::string_view name) {
  return std::string(claims.at(name).get_string());
}

/// Signs `header_json` and `payload_json` with the secret, exactly as a token holder of the
/// secret would, and checks the codec against the oracle.
void check_signed(std::string_view header_json, std::string_view payload_json,
                  FuzzedDataProvider& fdp) {
  std::string token =
      auth::base64url_encode(header_json) + '.' + auth::base64url_encode(payload_json);
  token += '.' + auth::base64url_encode(auth::hmac_sha256(kSecret, token));

  const bool readable = token.size() <= auth::kMaxTokenBytes && header_ok(header_json);
  const auto claims = readable ? object_of(payload_json) : std::nullopt;

  const auto access = codec().verify_access(token, kNow);
  const Verdict access_want = expected_access(claims, kNow);
  require(verdict_of(access) == access_want);
  if (access) {
    require(access->wid.value == string_claim(*claims, "wid"));
    require(access->aid.value == string_claim(*claims, "aid"));
    require(access->jti == string_claim(*claims, "jti"));
    require(access->own == claims->at("own").get_bool());
    require(access->iat == claims->at("iat").get_int64());
    require(access->exp == claims->at("exp").get_int64());
    check_claims(*access, kNow);
  }

  const auto invite = codec().verify_invite(token);
  require(verdict_of(invite) == expected_invite(claims));
  if (invite) {
    require(invite->wid.value == string_claim(*claims, "wid"));
    require(invite->iat == claims->at("iat").get_int64());
    check_claims(*invite);
  }

  // Tampering: no other token verifies, whichever character changes (RFC 8725 §3.1, and the
  // canonical base64url of the signature leaves no spare bits to flip).
  if (access_want == Verdict::kInvalid && !invite) return;
  for (int i = 0; i < 3 && fdp.remaining_bytes() > 0; ++i) {
    std::string tampered = token;
    const std::size_t at = fdp.ConsumeIntegralInRange<std::size_t>(0, tampered.size() - 1);
    const char by = fdp.ConsumeIntegral<char>();
    if (by == tampered[at]) continue;
    tampered[at] = by;
    require_refused(tampered);
  }
  require_refused(token.substr(0, token.size() - 1));
  require_refused(token + 'A');
  require_refused(token + '.');
}

/// Signs claims built from the input: they verify exactly when every claim is valid.
void check_sign_round_trip(FuzzedDataProvider& fdp) {
  core::AccessClaims access{
      .wid = {fdp.ConsumeRandomLengthString(80)},
      .aid = {fdp.ConsumeRandomLengthString(80)},
      .own = fdp.ConsumeBool(),
      .iat = fdp.ConsumeIntegral<std::int64_t>(),
      .exp = fdp.ConsumeIntegral<std::int64_t>(),
      .jti = fdp.ConsumeRandomLengthString(80),
  };
  const std::int64_t now = fdp.ConsumeIntegral<std::int64_t>();
  // Ids must also be UTF-8: the verifier reads the payload as JSON, which is UTF-8.
  const auto utf8 = [](const std::string& s) {
    return object_of(json::serialize(json::object{{"s", s}})).has_value();
  };
  const bool ids_ok = valid_id(access.wid.value) && valid_id(access.aid.value) &&
                      valid_id(access.jti) && utf8(access.wid.value) && utf8(access.aid.value) &&
                      utf8(access.jti);
  const bool times_ok = access.iat >= 0 && access.exp >= 0;
  const auto verified = codec().verify_access(codec().sign_access(access), now);
  if (ids_ok && times_ok && access.exp > now) {
    require(verified && *verified == access);
  } else {
    require(!verified);
    require(verified.error().code ==
            (ids_ok && times_ok ? core::ErrorCode::kTokenExpired : core::ErrorCode::kTokenInvalid));
  }

  const core::InviteClaims invite{.wid = access.wid, .iat = access.iat};
  const auto verified_invite = codec().verify_invite(codec().sign_invite(invite));
  const bool invite_ok = valid_id(invite.wid.value) && utf8(invite.wid.value) && invite.iat >= 0;
  require(verified_invite.has_value() == invite_ok);
  if (verified_invite) require(*verified_invite == invite);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  check_base64url(input);

  // The input as a token, e.g. one of the corpus's tokens, signed with kSecret.
  if (const auto access = codec().verify_access(input, kNow)) check_claims(*access, kNow);
  if (const auto invite = codec().verify_invite(input)) check_claims(*invite);

  FuzzedDataProvider fdp(bytes, size);
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    check_signed(kIssuedHeader, input, fdp);
  } else {
    check_signed(input.substr(0, newline), input.substr(newline + 1), fdp);
  }
  check_sign_round_trip(fdp);
  return 0;
}
