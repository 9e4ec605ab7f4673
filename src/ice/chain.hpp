// Fallback across ICE providers in PROTOCOL.md §6 order: the first that answers wins.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ice/ice_provider.hpp"

namespace ws::ice {

/// Asks each provider in turn until one succeeds; fails (the last error) only if all fail.
/// `attempted(provider name, ok)` is called once per provider asked (for metrics).
class ChainIceProvider final : public IceProvider {
 public:
  using Attempted = std::function<void(std::string_view provider, bool ok)>;
  ChainIceProvider(std::vector<std::unique_ptr<IceProvider>> providers, Attempted attempted);
  void fetch(const std::optional<core::AttendeeId>& attendee, Done done) override;
  /// The names joined by " > ", e.g. "twilio > turn-rest > google-stun".
  std::string name() const override;

 private:
  void fetch_from(std::size_t index, const std::optional<core::AttendeeId>& attendee, Done done);

  std::vector<std::unique_ptr<IceProvider>> providers_;  // non-empty, immutable
  Attempted attempted_;
};

}  // namespace ws::ice
