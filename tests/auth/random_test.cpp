// Tests for auth/random: CSPRNG ids and ephemeral secrets.
#include "auth/random.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"

namespace ws::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

TEST(Random, AlnumHasRequestedLength) {
  CsprngRandom random;
  for (const std::size_t len : {0, 1, 10, 64, 1000}) {
    SCOPED_TRACE(len);
    EXPECT_EQ(random.alnum(len).size(), len);
  }
}

TEST(Random, AlnumUsesOnlyAsciiLettersAndDigits) {
  CsprngRandom random;
  const std::string text = random.alnum(10'000);
  EXPECT_EQ(text.find_first_not_of(kAlphabet), std::string::npos);
}

TEST(Random, AlnumCoversTheWholeAlphabet) {
  // Missing any one of 62 characters in 10,000 uniform draws has probability below 1e-68.
  CsprngRandom random;
  const std::string text = random.alnum(10'000);
  EXPECT_EQ(std::set<char>(text.begin(), text.end()).size(), kAlphabet.size());
}

TEST(Random, ThousandIdsAreDistinct) {
  CsprngRandom random;
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(random.alnum(10));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Random, SecretIsBase64UrlOfRequestedBytes) {
  for (const std::size_t bytes : {16, 32, 64}) {
    SCOPED_TRACE(bytes);
    const std::string secret = random_secret(bytes);
    const auto raw = base64url_decode(secret);
    ASSERT_TRUE(raw.has_value()) << secret;
    EXPECT_EQ(raw->size(), bytes);
  }
  EXPECT_EQ(random_secret().size(), 43u);  // 32 bytes by default
}

TEST(Random, SecretsAreDistinct) {
  EXPECT_NE(random_secret(), random_secret());
}

}  // namespace
}  // namespace ws::auth
