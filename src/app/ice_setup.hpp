// Builds the ICE provider chain of PROTOCOL.md §6 from the configuration.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "config/config.hpp"
#include "core/error.hpp"
#include "ice/http.hpp"
#include "ice/ice_provider.hpp"

namespace ws::net {
class Metrics;
}  // namespace ws::net

namespace ws::app {

/// The provider the Runtime asks, and what it needs kept alive.
struct IceSetup {
  std::unique_ptr<ice::HttpClient> http;  // set when Twilio is configured
  std::unique_ptr<ice::IceProvider> provider;
};

/// Development: Google STUN only. Otherwise, in order, each configured one falling back to the
/// next: Twilio (SID + auth token), TURN REST (TURN_SECRET + turn_urls), then the static
/// `ice_servers` list or, without one, Google STUN. Fails only if the system trust store
/// cannot be loaded while Twilio is configured.
core::Result<IceSetup> make_ice(const config::Config& config, boost::asio::any_io_executor io,
                                net::Metrics& metrics);

}  // namespace ws::app
