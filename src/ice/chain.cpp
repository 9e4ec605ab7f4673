// Provider fallback.
#include "ice/chain.hpp"

#include <cassert>

namespace ws::ice {

ChainIceProvider::ChainIceProvider(std::vector<std::unique_ptr<IceProvider>> providers,
                                   Attempted attempted)
    : providers_(std::move(providers)), attempted_(std::move(attempted)) {
  assert(!providers_.empty());
}

std::string ChainIceProvider::name() const {
  std::string out;
  for (const auto& p : providers_) {
    if (!out.empty()) out += " > ";
    out += p->name();
  }
  return out;
}

void ChainIceProvider::fetch(const std::optional<core::AttendeeId>& attendee, Done done) {
  fetch_from(0, attendee, std::move(done));
}

void ChainIceProvider::fetch_from(std::size_t index,
                                  const std::optional<core::AttendeeId>& attendee, Done done) {
  IceProvider& provider = *providers_[index];
  provider.fetch(attendee, [this, index, attendee, done = std::move(done)](
                               core::Result<boost::json::array> servers) mutable {
    if (attempted_) attempted_(providers_[index]->name(), servers.has_value());
    if (servers || index + 1 == providers_.size()) {
      done(std::move(servers));
      return;
    }
    fetch_from(index + 1, attendee, std::move(done));
  });
}

}  // namespace ws::ice
