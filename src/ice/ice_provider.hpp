// The ICE seam: where `iceservers` replies come from (PROTOCOL.md §6).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <boost/json/array.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace ws::ice {

/// Produces an RTCIceServer list `[{urls, username?, credential?}]` for one attendee.
/// `fetch` may complete synchronously or later, on any thread. Implementations must be
/// thread-safe.
class IceProvider {
 public:
  using Done = std::function<void(core::Result<boost::json::array>)>;
  virtual ~IceProvider() = default;
  virtual void fetch(const std::optional<core::AttendeeId>& attendee, Done done) = 0;
  virtual std::string name() const = 0;
};

/// Google's public STUN servers in the modern `urls` form (development default).
boost::json::array google_stun();

/// A fixed list (config `ice_servers`, or Google STUN).
class StaticIceProvider final : public IceProvider {
 public:
  StaticIceProvider(std::string name, boost::json::array servers)
      : name_(std::move(name)), servers_(std::move(servers)) {}
  void fetch(const std::optional<core::AttendeeId>&, Done done) override { done(servers_); }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  boost::json::array servers_;  // immutable after construction
};

}  // namespace ws::ice
