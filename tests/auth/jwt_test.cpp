// Tests for auth/jwt: base64 and HMAC known answers, JWT round trips and every rejection path.
#include "auth/jwt.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ws::auth {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using ::testing::HasSubstr;

constexpr std::string_view kSecret = "test-secret";
constexpr std::int64_t kNow = 1700000000;
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kAccessPayload =
    R"({"typ":"access","wid":"_Wk3sp4ce01","aid":"_Att3nd33ab","own":true,)"
    R"("iat":1700000000,"exp":1700086400,"jti":"Jt1Abc"})";
constexpr std::string_view kInvitePayload =
    R"({"typ":"invite","wid":"_Wk3sp4ce01","iat":1700000000})";

core::AccessClaims access_claims() {
  return {.wid = {"_Wk3sp4ce01"},
          .aid = {"_Att3nd33ab"},
          .own = true,
          .iat = kNow,
          .exp = kNow + 86400,
          .jti = "Jt1Abc"};
}

core::InviteClaims invite_claims() {
  return {.wid = {"_Wk3sp4ce01"}, .iat = kNow};
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string hmac_sha512(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA512", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
            &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// A token with arbitrary header and payload JSON, signed with HMAC-SHA256 under `key`: what an
// attacker who knows the secret (or a buggy issuer) could produce.
std::string forge(std::string_view header, std::string_view payload,
                  std::string_view key = kSecret) {
  const std::string input = base64url_encode(header) + '.' + base64url_encode(payload);
  return input + '.' + base64url_encode(hmac_sha256(key, input));
}

// kAccessPayload with claim `name` replaced by the JSON text `value`, or removed if it is empty.
std::string access_payload_with(std::string_view name, std::string_view value) {
  json::object claims = json::parse(kAccessPayload).as_object();
  if (value.empty()) {
    claims.erase(name);
  } else {
    claims[name] = json::parse(value);
  }
  return json::serialize(claims);
}

std::vector<std::string> split(std::string_view token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = token.find('.', start)) != std::string_view::npos;) {
    parts.emplace_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  parts.emplace_back(token.substr(start));
  return parts;
}

// The result is an error with `code`, and its message gives away neither token nor secret.
template <class T>
void expect_rejected(const core::Result<T>& result, ErrorCode code, std::string_view token) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code) << result.error().message;
  const std::string& message = result.error().message;
  EXPECT_FALSE(message.empty());
  EXPECT_THAT(message, ::testing::Not(HasSubstr(kSecret)));
  for (const std::string& part : split(token)) {
    if (part.size() >= 4) {
      EXPECT_THAT(message, ::testing::Not(HasSubstr(part)));
    }
  }
}

// One rejected input.
struct Case {
  std::string name;
  std::string input;
};

// One encoding known answer.
struct Vector {
  std::string name;
  std::string bytes;
  std::string text;
};

// --- base64 and HMAC ---------------------------------------------------------------------------

TEST(Base64Url, EncodesRfc4648Vectors) {
  // RFC 4648 §10, without padding, plus bytes that hit the two url-safe characters.
  const std::vector<Vector> vectors = {
      {"empty", "", ""},
      {"1 byte", "f", "Zg"},
      {"2 bytes", "fo", "Zm8"},
      {"3 bytes", "foo", "Zm9v"},
      {"4 bytes", "foob", "Zm9vYg"},
      {"5 bytes", "fooba", "Zm9vYmE"},
      {"6 bytes", "foobar", "Zm9vYmFy"},
      {"url alphabet", "\xfb\xff\xbf", "-_-_"},
      {"url alphabet, short", "\xfb\xff", "-_8"},
      {"zero byte", std::string(1, '\0'), "AA"},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(base64url_encode(v.bytes), v.text);
    EXPECT_EQ(base64url_decode(v.text), v.bytes);
  }
}

TEST(Base64Url, RejectsNonCanonicalInput) {
  const std::vector<Case> cases = {
      {"padding", "Zg=="},
      {"partial padding", "Zm8="},
      {"lone padding", "="},
      {"impossible length", "Z"},
      {"impossible length 5", "Zm9vY"},
      {"inner space", "Zm9v YmFy"},
      {"leading space", " Zm9v"},
      {"trailing newline", "Zm9v\n"},
      {"tab", "Zm9v\tYmFy"},
      {"standard alphabet +", "+/8"},
      {"standard alphabet /", "Zm9v/w"},
      {"non-zero spare bits, 2 chars", "Zh"},
      {"non-zero spare bits, 3 chars", "Zm9"},
      {"embedded NUL", std::string("Zm\0v", 4)},
      {"non-ASCII", "Zm9v\xc3\xa9"},
      {"dot", "Zm9v.mFy"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(base64url_decode(c.input), std::nullopt);
  }
}

TEST(Base64Url, RoundTripsLargeInputAcrossChunks) {
  std::string bytes(100'003, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + i / 7);
  const std::string text = base64url_encode(bytes);
  EXPECT_EQ(text.size(), (bytes.size() * 4 + 2) / 3);
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(base64url_decode(text), bytes);
}

TEST(Base64, EncodesRfc4648VectorsWithPadding) {
  const std::vector<Vector> vectors = {
      {"empty", "", ""},
      {"1 byte", "f", "Zg=="},
      {"2 bytes", "fo", "Zm8="},
      {"3 bytes", "foo", "Zm9v"},
      {"4 bytes", "foob", "Zm9vYg=="},
      {"5 bytes", "fooba", "Zm9vYmE="},
      {"6 bytes", "foobar", "Zm9vYmFy"},
      {"standard alphabet", "\xfb\xff", "+/8="},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(base64_encode(v.bytes), v.text);
  }
}

TEST(Hmac, Sha1MatchesRfc2202) {
  EXPECT_EQ(hex(hmac_sha1(std::string(20, '\x0b'), "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Hmac, Sha256MatchesRfc4231) {
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hmac, TokensAreSignedWithTheSecretAsHmacKeyWhateverItsLength) {
  for (std::size_t len : {1, 32, 64, 65, 200}) {
    const std::string secret(len, 's');
    JwtCodec codec(secret);
    const std::string token = codec.sign_invite({.wid = {"_abcdefghij"}, .iat = 1});
    const auto dot = token.rfind('.');
    EXPECT_EQ(token.substr(dot + 1), base64url_encode(hmac_sha256(secret, token.substr(0, dot))))
        << "secret of " << len << " bytes";
    EXPECT_TRUE(codec.verify_invite(token)) << len;
  }
}

TEST(Hmac, AcceptsEmptyKey) {
  EXPECT_EQ(hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(hex(hmac_sha1("", "")), "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
}

TEST(TurnRest, CredentialIsBase64OfHmacSha1) {
  // PROTOCOL.md §6: credential = base64(HMAC-SHA1(TURN_SECRET, username)).
  EXPECT_EQ(base64_encode(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "7/zfauXrL6LSdBbV8YTfnCWafHk=");
  EXPECT_EQ(base64_encode(hmac_sha1("turn-secret", "1700086400:_Att3nd33ab")),
            "8Mp5jLD1h3vbFhd3BWJx6qyHlfQ=");
}

// --- known answers ------------------------------------------------------------------------------

TEST(Jwt, Rfc7515AppendixA1SignatureMatches) {
  // RFC 7515 Appendix A.1: the JWK "k" value, the exact signing input and the signature.
  const auto key = base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.has_value());
  const std::string input =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnV"
      "lfQ";
  const std::string signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

  EXPECT_EQ(base64url_decode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"),
            "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
  EXPECT_EQ(base64url_encode(hmac_sha256(*key, input)), signature);

  // The codec gets past header and signature, then refuses the RFC's claims (no typ "access").
  const auto result = JwtCodec(*key).verify_access(input + '.' + signature, 0);
  expect_rejected(result, ErrorCode::kTokenInvalid, input);
  EXPECT_THAT(result.error().message, HasSubstr("not an access token"));
}

TEST(Jwt, SignsExactHeaderAndClaims) {
  // Expected tokens computed independently (Python hmac/base64/json, compact separators).
  const JwtCodec codec{std::string(kSecret)};
  EXPECT_EQ(codec.sign_access(access_claims()),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJ0eXAiOiJhY2Nlc3MiLCJ3aWQiOiJfV2szc3A0Y2UwMSIsImFpZCI6Il9BdHQzbmQzM2FiIiwib3duIjp0c"
            "nVlLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMCwianRpIjoiSnQxQWJjIn0."
            "qiOqBeBGG1bkV5nf9KbFW1b4Qrx0xp1sudyYxyVZico");
  EXPECT_EQ(codec.sign_invite(invite_claims()),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJ0eXAiOiJpbnZpdGUiLCJ3aWQiOiJfV2szc3A0Y2UwMSIsImlhdCI6MTcwMDAwMDAwMH0."
            "LmWJ6HnSnfV59cRbPH9rwBh9QYl6QXbWYx9ws1UelRU");
  EXPECT_EQ(split(codec.sign_access(access_claims()))[0], base64url_encode(kHeader));
}

// --- round trips --------------------------------------------------------------------------------

TEST(Jwt, AccessTokenRoundTrips) {
  const JwtCodec codec{std::string(kSecret)};
  for (const bool own : {true, false}) {
    SCOPED_TRACE(own ? "owner" : "attendee");
    core::AccessClaims claims = access_claims();
    claims.own = own;
    const auto verified = codec.verify_access(codec.sign_access(claims), kNow);
    ASSERT_TRUE(verified.has_value()) << verified.error().message;
    EXPECT_EQ(*verified, claims);
  }
}

TEST(Jwt, InviteTokenRoundTrips) {
  const JwtCodec codec{std::string(kSecret)};
  const auto verified = codec.verify_invite(codec.sign_invite(invite_claims()));
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(*verified, invite_claims());
}

TEST(Jwt, AcceptsIdsOfExactly64Chars) {
  const JwtCodec codec{std::string(kSecret)};
  core::AccessClaims claims = access_claims();
  claims.wid.value = std::string(64, 'w');
  claims.aid.value = std::string(64, 'a');
  claims.jti = std::string(64, 'j');
  const auto verified = codec.verify_access(codec.sign_access(claims), kNow);
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(*verified, claims);
}

// --- expiry -------------------------------------------------------------------------------------

TEST(Jwt, ExpiresAtExpInclusive) {
  const JwtCodec codec{std::string(kSecret)};
  struct ExpCase {
    std::string name;
    std::int64_t exp;
    bool valid;
  };
  const std::vector<ExpCase> cases = {
      {"long past", kNow - 86400, false},  {"one second ago", kNow - 1, false},
      {"exactly now", kNow, false},        {"one second ahead", kNow + 1, true},
      {"a day ahead", kNow + 86400, true},
  };
  for (const ExpCase& c : cases) {
    SCOPED_TRACE(c.name);
    core::AccessClaims claims = access_claims();
    claims.exp = c.exp;
    const std::string token = codec.sign_access(claims);
    const auto result = codec.verify_access(token, kNow);
    if (c.valid) {
      EXPECT_TRUE(result.has_value());
    } else {
      expect_rejected(result, ErrorCode::kTokenExpired, token);
    }
  }
}

TEST(Jwt, ExpiredButForgedIsInvalidNotExpired) {
  core::AccessClaims claims = access_claims();
  claims.exp = kNow - 1;
  const std::string token = JwtCodec("other-secret").sign_access(claims);
  expect_rejected(JwtCodec(std::string(kSecret)).verify_access(token, kNow),
                  ErrorCode::kTokenInvalid, token);
}

TEST(Jwt, ExpiredWithMalformedClaimIsInvalidNotExpired) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string old = forge(kHeader, access_payload_with("exp", "1"));
  expect_rejected(codec.verify_access(old, kNow), ErrorCode::kTokenExpired, old);

  json::object claims = json::parse(access_payload_with("exp", "1")).as_object();
  claims["wid"] = "";
  const std::string old_and_bad = forge(kHeader, json::serialize(claims));
  expect_rejected(codec.verify_access(old_and_bad, kNow), ErrorCode::kTokenInvalid, old_and_bad);
}

// --- confusion between token types ---------------------------------------------------------------

TEST(Jwt, RejectsInviteUsedAsAccess) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string invite = codec.sign_invite(invite_claims());
  expect_rejected(codec.verify_access(invite, kNow), ErrorCode::kTokenInvalid, invite);
}

TEST(Jwt, RejectsAccessUsedAsInvite) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string access = codec.sign_access(access_claims());
  expect_rejected(codec.verify_invite(access), ErrorCode::kTokenInvalid, access);
}

// --- signature ----------------------------------------------------------------------------------

TEST(Jwt, RejectsWrongSecret) {
  const std::string token = JwtCodec("other-secret").sign_access(access_claims());
  const JwtCodec codec{std::string(kSecret)};
  expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  const std::string invite = JwtCodec("").sign_invite(invite_claims());
  expect_rejected(codec.verify_invite(invite), ErrorCode::kTokenInvalid, invite);
}

TEST(Jwt, RejectsTamperedPayload) {
  const JwtCodec codec{std::string(kSecret)};
  std::vector<std::string> parts = split(codec.sign_access(access_claims()));
  parts[1] = base64url_encode(access_payload_with("aid", R"("_Someone3ls")"));
  const std::string token = parts[0] + '.' + parts[1] + '.' + parts[2];
  expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
}

TEST(Jwt, RejectsTamperedSignature) {
  const JwtCodec codec{std::string(kSecret)};
  const std::vector<std::string> parts = split(codec.sign_access(access_claims()));
  const std::string signature = *base64url_decode(parts[2]);
  std::string flipped = signature;
  flipped[0] = static_cast<char>(flipped[0] ^ 0x01);
  const std::vector<Case> cases = {
      {"one bit flipped", base64url_encode(flipped)},
      {"truncated to 31 bytes", base64url_encode(signature.substr(0, 31))},
      {"extended to 33 bytes", base64url_encode(signature + 'x')},
      {"empty", ""},
      {"padded", parts[2] + '='},
      {"signature of another token", split(codec.sign_invite(invite_claims()))[2]},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string token = parts[0] + '.' + parts[1] + '.' + c.input;
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, RejectsNonCanonicalSignatureEncoding) {
  // 32 bytes take 43 characters; the last one carries 2 spare (zero) bits. Setting one decodes
  // to the very same, correct MAC, so only the canonical-encoding check can refuse it.
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const JwtCodec codec{std::string(kSecret)};
  const std::string token = codec.sign_access(access_claims());
  const std::size_t last = kAlphabet.find(token.back());
  ASSERT_EQ(last % 4, 0u);
  const std::string sloppy = token.substr(0, token.size() - 1) + kAlphabet[last + 1];
  ASSERT_EQ(base64url_decode(split(sloppy)[2]), std::nullopt);
  expect_rejected(codec.verify_access(sloppy, kNow), ErrorCode::kTokenInvalid, sloppy);
}

// --- header and alg -----------------------------------------------------------------------------

TEST(Jwt, RejectsAlgNone) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string input =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + '.' + base64url_encode(kAccessPayload);
  for (const std::string& token : {input + '.', input}) {
    SCOPED_TRACE(token.back() == '.' ? "empty signature" : "no signature part");
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, RejectsHs512EvenWithCorrectSecret) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string input =
      base64url_encode(R"({"alg":"HS512","typ":"JWT"})") + '.' + base64url_encode(kAccessPayload);
  const std::string token = input + '.' + base64url_encode(hmac_sha512(kSecret, input));
  expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
}

TEST(Jwt, RejectsHeadersOtherThanHs256) {
  // Each header is correctly HS256-signed, so only the header check can refuse it.
  const std::vector<Case> cases = {
      {"alg none", R"({"alg":"none","typ":"JWT"})"},
      {"alg HS512", R"({"alg":"HS512","typ":"JWT"})"},
      {"alg RS256", R"({"alg":"RS256","typ":"JWT"})"},
      {"alg lower case", R"({"alg":"hs256","typ":"JWT"})"},
      {"alg with space", R"({"alg":"HS256 ","typ":"JWT"})"},
      {"alg missing", R"({"typ":"JWT"})"},
      {"alg null", R"({"alg":null})"},
      {"alg array", R"({"alg":["HS256"]})"},
      {"crit", R"({"alg":"HS256","typ":"JWT","crit":["exp"]})"},
      {"empty crit", R"({"alg":"HS256","crit":[]})"},
      {"header array", R"(["HS256"])"},
      {"header string", R"("HS256")"},
      {"header not JSON", "alg=HS256"},
      {"header truncated JSON", R"({"alg":"HS256")"},
      {"header empty", ""},
  };
  const JwtCodec codec{std::string(kSecret)};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string token = forge(c.input, kAccessPayload);
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  }
}

// --- structure ----------------------------------------------------------------------------------

TEST(Jwt, RejectsMalformedStructure) {
  const JwtCodec codec{std::string(kSecret)};
  const std::string valid = codec.sign_access(access_claims());
  const std::vector<std::string> parts = split(valid);
  ASSERT_TRUE(codec.verify_access(valid, kNow).has_value());
  const std::vector<Case> cases = {
      {"empty string", ""},
      {"one segment", "abc"},
      {"two segments", parts[0] + '.' + parts[1]},
      {"four segments", valid + ".x"},
      {"trailing dot", valid + '.'},
      {"only dots", ".."},
      {"leading space", ' ' + valid},
      {"trailing newline", valid + '\n'},
      {"bad base64 header", "!!!." + parts[1] + '.' + parts[2]},
      {"padded header", parts[0] + "=." + parts[1] + '.' + parts[2]},
      {"standard-alphabet payload", parts[0] + ".+/." + parts[2]},
      {"Bearer prefix", "Bearer " + valid},
      {"a megabyte of dots", std::string(1 << 20, '.')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_rejected(codec.verify_access(c.input, kNow), ErrorCode::kTokenInvalid, c.input);
    expect_rejected(codec.verify_invite(c.input), ErrorCode::kTokenInvalid, c.input);
  }
}

TEST(Jwt, CapsTokenLengthAt4096Bytes) {
  // Correctly signed tokens padded with an unknown claim: accepted up to the cap, not beyond.
  const JwtCodec codec{std::string(kSecret)};
  bool saw_accepted_near_cap = false;
  bool saw_rejected = false;
  for (std::size_t pad = 2500; !saw_rejected || !saw_accepted_near_cap; ++pad) {
    const std::string token =
        forge(kHeader, access_payload_with("pad", '"' + std::string(pad, 'x') + '"'));
    ASSERT_LT(token.size(), kMaxTokenBytes + 16) << "cap never reached";
    if (token.size() < kMaxTokenBytes - 4) continue;
    SCOPED_TRACE(token.size());
    const auto result = codec.verify_access(token, kNow);
    if (token.size() <= kMaxTokenBytes) {
      EXPECT_TRUE(result.has_value());
      saw_accepted_near_cap = true;
    } else {
      expect_rejected(result, ErrorCode::kTokenInvalid, token);
      saw_rejected = true;
    }
  }
}

// --- payload and claims -------------------------------------------------------------------------

TEST(Jwt, RejectsPayloadThatIsNotAJsonObject) {
  const std::vector<Case> cases = {
      {"array", R"([{"typ":"access"}])"},
      {"string", R"("access")"},
      {"null", "null"},
      {"not JSON", "typ=access"},
      {"truncated", R"({"typ":"access")"},
      {"trailing garbage", std::string(kAccessPayload) + "x"},
      {"two objects", std::string(kAccessPayload) + std::string(kAccessPayload)},
      {"invalid UTF-8", R"({"typ":"access","x":")"
                        "\xff"
                        R"("})"},
      {"empty", ""},
  };
  const JwtCodec codec{std::string(kSecret)};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string token = forge(kHeader, c.input);
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
    expect_rejected(codec.verify_invite(token), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, RejectsAccessTokenMissingAnyClaim) {
  const JwtCodec codec{std::string(kSecret)};
  for (const char* name : {"typ", "wid", "aid", "own", "iat", "exp", "jti"}) {
    SCOPED_TRACE(name);
    const std::string token = forge(kHeader, access_payload_with(name, ""));
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, RejectsAccessClaimsOfWrongType) {
  struct ClaimCase {
    std::string name;
    std::string claim;
    std::string json;  // replaces the claim's value in an otherwise valid payload
  };
  const std::vector<ClaimCase> cases = {
      {"typ capitalised", "typ", R"("Access")"},
      {"typ number", "typ", "1"},
      {"typ null", "typ", "null"},
      {"wid number", "wid", "42"},
      {"wid empty", "wid", R"("")"},
      {"wid 65 chars", "wid", '"' + std::string(65, 'w') + '"'},
      {"wid array", "wid", R"(["_Wk3sp4ce01"])"},
      {"aid object", "aid", R"({"id":"_Att3nd33ab"})"},
      {"aid null", "aid", "null"},
      {"own string", "own", R"("true")"},
      {"own number", "own", "1"},
      {"iat string", "iat", R"("1700000000")"},
      {"iat fraction", "iat", "1700000000.5"},
      {"iat negative", "iat", "-1"},
      {"exp float", "exp", "1700086400.0"},
      {"exp exponent", "exp", "2e9"},
      {"exp beyond int64", "exp", "18446744073709551615"},
      {"exp bool", "exp", "true"},
      {"jti empty", "jti", R"("")"},
      {"jti number", "jti", "7"},
  };
  const JwtCodec codec{std::string(kSecret)};
  for (const ClaimCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string token = forge(kHeader, access_payload_with(c.claim, c.json));
    expect_rejected(codec.verify_access(token, kNow), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, RejectsInviteClaimsMissingOrOfWrongType) {
  const std::vector<Case> cases = {
      {"wid missing", R"({"typ":"invite","iat":1700000000})"},
      {"iat missing", R"({"typ":"invite","wid":"_Wk3sp4ce01"})"},
      {"typ missing", R"({"wid":"_Wk3sp4ce01","iat":1700000000})"},
      {"typ access", R"({"typ":"access","wid":"_Wk3sp4ce01","iat":1700000000})"},
      {"wid empty", R"({"typ":"invite","wid":"","iat":1700000000})"},
      {"wid number", R"({"typ":"invite","wid":5,"iat":1700000000})"},
      {"iat string", R"({"typ":"invite","wid":"_Wk3sp4ce01","iat":"now"})"},
  };
  const JwtCodec codec{std::string(kSecret)};
  ASSERT_TRUE(codec.verify_invite(forge(kHeader, kInvitePayload)).has_value());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string token = forge(kHeader, c.input);
    expect_rejected(codec.verify_invite(token), ErrorCode::kTokenInvalid, token);
  }
}

TEST(Jwt, ErrorNamesTheBadClaim) {
  const std::string token = forge(kHeader, access_payload_with("own", R"("yes")"));
  const auto result = JwtCodec(std::string(kSecret)).verify_access(token, kNow);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("'own'"));
}

}  // namespace
}  // namespace ws::auth
