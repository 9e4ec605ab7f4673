// Provider fallback in PROTOCOL.md §6 order.
#include "ice/chain.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace ws::ice {
namespace {

namespace json = boost::json;

/// Answers with a fixed result, now or when `release()` is called.
class ScriptedProvider final : public IceProvider {
 public:
  ScriptedProvider(std::string name, core::Result<json::array> answer, bool later = false)
      : name_(std::move(name)), answer_(std::move(answer)), later_(later) {}
  void fetch(const std::optional<core::AttendeeId>& who, Done done) override {
    ++asked;
    last_attendee = who;
    if (later_) {
      pending_ = std::move(done);
    } else {
      done(answer_);
    }
  }
  std::string name() const override { return name_; }
  void release() { std::exchange(pending_, nullptr)(answer_); }

  int asked = 0;
  std::optional<core::AttendeeId> last_attendee;

 private:
  std::string name_;
  core::Result<json::array> answer_;
  bool later_;
  Done pending_;
};

json::array list(const char* url) {
  return json::array{json::object{{"urls", url}}};
}
core::Result<json::array> failure(const char* why) {
  return core::fail(core::ErrorCode::kUnavailable, why);
}

struct Chain {
  std::vector<std::pair<std::string, bool>> attempts;
  std::vector<ScriptedProvider*> providers;
  std::unique_ptr<ChainIceProvider> chain;

  explicit Chain(std::vector<std::unique_ptr<ScriptedProvider>> ps) {
    std::vector<std::unique_ptr<IceProvider>> owned;
    for (auto& p : ps) {
      providers.push_back(p.get());
      owned.push_back(std::move(p));
    }
    chain = std::make_unique<ChainIceProvider>(
        std::move(owned),
        [this](std::string_view name, bool ok) { attempts.emplace_back(std::string(name), ok); });
  }
  std::optional<core::Result<json::array>> ask(std::optional<core::AttendeeId> who = {}) {
    std::optional<core::Result<json::array>> got;
    chain->fetch(who, [&](core::Result<json::array> r) { got = std::move(r); });
    return got;
  }
};

template <class... P>
std::vector<std::unique_ptr<ScriptedProvider>> providers(P&&... p) {
  std::vector<std::unique_ptr<ScriptedProvider>> out;
  (out.push_back(std::forward<P>(p)), ...);
  return out;
}

TEST(Chain, FirstAnswerWinsAndLaterProvidersAreNotAsked) {
  Chain c(providers(std::make_unique<ScriptedProvider>("a", list("stun:a")),
                    std::make_unique<ScriptedProvider>("b", list("stun:b"))));
  auto got = c.ask(core::AttendeeId{"_x"});
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(json::serialize(**got), R"([{"urls":"stun:a"}])");
  EXPECT_EQ(c.providers[1]->asked, 0);
  EXPECT_EQ(c.attempts, (std::vector<std::pair<std::string, bool>>{{"a", true}}));
  EXPECT_EQ(c.providers[0]->last_attendee->value, "_x");
}

TEST(Chain, AFailureFallsBackToTheNextWithTheSameAttendee) {
  Chain c(providers(std::make_unique<ScriptedProvider>("a", failure("down")),
                    std::make_unique<ScriptedProvider>("b", failure("also down")),
                    std::make_unique<ScriptedProvider>("c", list("stun:c"))));
  auto got = c.ask(core::AttendeeId{"_y"});
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(json::serialize(**got), R"([{"urls":"stun:c"}])");
  EXPECT_EQ(c.attempts,
            (std::vector<std::pair<std::string, bool>>{{"a", false}, {"b", false}, {"c", true}}));
  EXPECT_EQ(c.providers[2]->last_attendee->value, "_y");
}

TEST(Chain, AllFailingGivesTheLastError) {
  Chain c(providers(std::make_unique<ScriptedProvider>("a", failure("first")),
                    std::make_unique<ScriptedProvider>("b", failure("last"))));
  auto got = c.ask();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().message, "last");
}

TEST(Chain, AsynchronousFailureStillFallsBack) {
  Chain c(providers(std::make_unique<ScriptedProvider>("slow", failure("timeout"), true),
                    std::make_unique<ScriptedProvider>("b", list("stun:b"))));
  std::optional<core::Result<json::array>> later;
  c.chain->fetch({}, [&](core::Result<json::array> r) { later = std::move(r); });
  EXPECT_FALSE(later) << "must wait for the slow provider";
  EXPECT_EQ(c.providers[1]->asked, 0);
  c.providers[0]->release();
  ASSERT_TRUE(later && *later);
  EXPECT_EQ(json::serialize(**later), R"([{"urls":"stun:b"}])");
}

TEST(Chain, NameListsTheOrder) {
  Chain c(providers(std::make_unique<ScriptedProvider>("twilio", list("stun:a")),
                    std::make_unique<ScriptedProvider>("turn-rest", list("stun:b")),
                    std::make_unique<ScriptedProvider>("google-stun", list("stun:c"))));
  EXPECT_EQ(c.chain->name(), "twilio > turn-rest > google-stun");
}

}  // namespace
}  // namespace ws::ice
