// ICE provider selection (PROTOCOL.md §6) and its wiring to logs and metrics.
#include "app/ice_setup.hpp"

#include <chrono>
#include <vector>

#include "ice/chain.hpp"
#include "ice/turn_rest.hpp"
#include "ice/twilio.hpp"
#include "net/https_client.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

namespace ws::app {

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

core::Result<IceSetup> make_ice(const config::Config& c, boost::asio::any_io_executor io,
                                net::Metrics& metrics) {
  IceSetup setup;
  std::vector<std::unique_ptr<ice::IceProvider>> chain;
  if (c.development) {
    chain.push_back(std::make_unique<ice::StaticIceProvider>("google-stun", ice::google_stun()));
  } else {
    if (!c.twilio_account_sid.empty() && !c.twilio_auth_token.empty()) {
      auto tls = net::system_trust_context();
      if (!tls) return tl::unexpected(tls.error());
      setup.http = std::make_unique<net::HttpsClient>(io, std::move(*tls));
      ice::TwilioObserver observer;
      observer.fetched = [&metrics](bool ok, std::chrono::duration<double> elapsed) {
        metrics.twilio_fetch(ok, elapsed.count());
      };
      observer.log = [](core::Log line) { net::log_event(line); };
      chain.push_back(std::make_unique<ice::TwilioIceProvider>(
          ice::TwilioOptions{c.twilio_api_base, c.twilio_account_sid, c.twilio_auth_token,
                             std::chrono::milliseconds(c.twilio_timeout_ms)},
          *setup.http, std::move(observer)));
    }
    if (!c.turn_secret.empty() && !c.turn_urls.empty()) {
      chain.push_back(std::make_unique<ice::TurnRestIceProvider>(
          ice::TurnRestOptions{c.turn_secret, c.token_delimiter, c.turn_urls, c.stun_urls,
                               c.turn_ttl_seconds},
          unix_now));
    }
    if (!c.ice_servers.empty()) {
      chain.push_back(std::make_unique<ice::StaticIceProvider>("static", c.ice_servers));
    } else {
      chain.push_back(std::make_unique<ice::StaticIceProvider>("google-stun", ice::google_stun()));
    }
  }
  setup.provider = std::make_unique<ice::ChainIceProvider>(
      std::move(chain),
      [&metrics](std::string_view provider, bool ok) { metrics.ice_attempt(provider, ok); });
  return setup;
}

}  // namespace ws::app
