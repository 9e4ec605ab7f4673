// Tests for auth/pin: Argon2id PIN hashing with a pepper.
#include "auth/pin.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <thread>
#include <vector>

namespace ws::auth {
namespace {

// The cheapest Argon2id parameters, so the suite stays fast; production uses the defaults.
PinHasher fast_hasher(std::string pepper = "pepper") {
  return PinHasher(std::move(pepper), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
}

TEST(Pin, HashThenVerifyRoundTrips) {
  const PinHasher hasher = fast_hasher();
  for (const std::string pin : {"1234", "", "correct horse battery staple", "p\xc3\xaf\xc3\xb1"}) {
    SCOPED_TRACE(pin);
    const auto stored = hasher.hash(pin);
    ASSERT_TRUE(stored.has_value()) << stored.error().message;
    EXPECT_TRUE(hasher.verify(pin, *stored));
  }
}

TEST(Pin, WrongPinDoesNotVerify) {
  const PinHasher hasher = fast_hasher();
  const std::string stored = hasher.hash("1234").value();
  using namespace std::string_literals;
  for (const std::string& pin : {"1235"s, ""s, "12345"s, "123"s, " 1234"s, "1234\0"s}) {
    SCOPED_TRACE(pin);
    EXPECT_FALSE(hasher.verify(pin, stored));
  }
}

TEST(Pin, DifferentPepperDoesNotVerify) {
  const std::string stored = fast_hasher("pepper").hash("1234").value();
  EXPECT_FALSE(fast_hasher("other pepper").verify("1234", stored));
  EXPECT_FALSE(fast_hasher("").verify("1234", stored));
}

TEST(Pin, HashIsArgon2idAndNeverContainsPinOrPepper) {
  const std::string stored = fast_hasher("pepper-xyz").hash("987654").value();
  EXPECT_EQ(stored.rfind("$argon2id$", 0), 0u) << stored;
  EXPECT_EQ(stored.find("987654"), std::string::npos);
  EXPECT_EQ(stored.find("pepper-xyz"), std::string::npos);
}

TEST(Pin, TwoHashesOfTheSamePinDiffer) {
  const PinHasher hasher = fast_hasher();
  const std::string first = hasher.hash("1234").value();
  const std::string second = hasher.hash("1234").value();
  EXPECT_NE(first, second);
  EXPECT_TRUE(hasher.verify("1234", first));
  EXPECT_TRUE(hasher.verify("1234", second));
}

TEST(Pin, DefaultCostIsInteractive) {
  const std::string stored = PinHasher("pepper").hash("1234").value();
  // crypto_pwhash_MEMLIMIT_INTERACTIVE is 64 MiB (m in KiB), OPSLIMIT_INTERACTIVE 2 passes.
  EXPECT_NE(stored.find("$m=65536,t=2,"), std::string::npos) << stored;
}

TEST(Pin, VerifyUsesTheCostRecordedInTheHash) {
  const std::string stored = fast_hasher().hash("1234").value();
  EXPECT_TRUE(PinHasher("pepper").verify("1234", stored));
}

TEST(Pin, GarbageStoredHashDoesNotVerify) {
  const PinHasher hasher = fast_hasher();
  const std::string real = hasher.hash("1234").value();
  struct Case {
    std::string name;
    std::string stored;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"plain text", "1234"},
      {"prefix only", "$argon2id$"},
      {"no salt or hash", "$argon2id$v=19$m=8,t=1,p=1$"},
      {"truncated", real.substr(0, real.size() - 5)},
      {"one character changed", real.substr(0, real.size() - 1) + (real.back() == 'A' ? 'B' : 'A')},
      {"trailing garbage", real + "x"},
      {"embedded NUL", real.substr(0, 20) + '\0' + real.substr(21)},
      {"NUL after a valid hash", real + '\0'},
      {"very long", std::string(100'000, '$')},
      {"argon2i", "$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaA"},
      {"bcrypt", "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(hasher.verify("1234", c.stored));
  }
}

TEST(Pin, HashAndVerifyAreSafeFromManyThreads) {
  const PinHasher hasher = fast_hasher();
  const std::string shared = hasher.hash("0000").value();
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string pin = "pin-" + std::to_string(t);
      for (int i = 0; i < 3; ++i) {
        const auto stored = hasher.hash(pin);
        ok[t] += stored && hasher.verify(pin, *stored) && !hasher.verify("0001", shared) &&
                 hasher.verify("0000", shared);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok, std::vector<int>(4, 3));
}

}  // namespace
}  // namespace ws::auth
