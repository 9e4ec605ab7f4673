// Twilio Network Traversal Service (PROTOCOL.md §6, item 2): ICE servers from Tokens.json,
// fetched asynchronously, cached until half their ttl, one fetch in flight at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "core/engine.hpp"
#include "ice/http.hpp"
#include "ice/ice_provider.hpp"

namespace ws::ice {

/// A Tokens.json answer mapped to RTCIceServer `{urls, username?, credential?}` entries.
struct TwilioTokens {
  boost::json::array servers;
  std::int64_t ttl_seconds = 86400;
};

/// Parses a Tokens.json body. Each `ice_servers` entry keeps `urls` (or the legacy `url`),
/// `username` and `credential`; `ttl` may be a number or a string of digits (absent: 86400,
/// Twilio's default). Anything else malformed is an error that never quotes the body.
core::Result<TwilioTokens> parse_twilio_tokens(std::string_view body);

/// The Tokens.json URL: `{api_base}/2010-04-01/Accounts/{sid}/Tokens.json`.
std::string twilio_tokens_url(std::string_view api_base, std::string_view account_sid);

struct TwilioOptions {
  std::string api_base = "https://api.twilio.com";
  std::string account_sid;
  std::string auth_token;  // secret: only ever in the Authorization header
  std::chrono::milliseconds timeout{5000};
};

/// Hooks to logs and metrics. `fetched` runs after every HTTP fetch; `log` gets one warning
/// per failure streak (the first failure) and one info line on recovery.
struct TwilioObserver {
  std::function<void(bool ok, std::chrono::duration<double> elapsed)> fetched;
  std::function<void(core::Log)> log;
};

/// Thread-safe. Answers from the cache while younger than ttl/2; otherwise joins the one
/// fetch in flight (starting it if needed). When a fetch fails, requests waiting on it get
/// the cached servers if they are still within their ttl, else the error (so the chain
/// falls back to the next provider).
class TwilioIceProvider final : public IceProvider {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;
  TwilioIceProvider(
      TwilioOptions options, HttpClient& http, TwilioObserver observer = {},
      Now now = [] { return Clock::now(); });
  void fetch(const std::optional<core::AttendeeId>& attendee, Done done) override;
  std::string name() const override { return "twilio"; }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ws::ice
