// Connection admission: per-address counts and token buckets (PROTOCOL.md §10).
#include "net/detail/admission.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/address_key.hpp"

namespace ws::net::detail {

namespace ip = boost::asio::ip;

std::string_view to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "";
    case Refusal::kMaxConnections:
      return "max_connections";
    case Refusal::kMaxConnectionsPerIp:
      return "max_connections_per_ip";
    case Refusal::kNewConnectionsPerIp:
      return "new_connections_per_ip";
  }
  return "";
}

ip::address unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string address_key(const ip::address& address) {
  // The Engine's PIN and create limits key by the same function, from the same text.
  return core::address_key(unmapped(address).to_string());
}

Admission::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      key_(std::move(other.key_)),
      refusal_(other.refusal_),
      seq_(other.seq_),
      evicted_another_(other.evicted_another_) {}

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    refusal_ = other.refusal_;
    seq_ = other.seq_;
    evicted_another_ = other.evicted_another_;
  }
  return *this;
}

template <class Change>
void Admission::change_held(std::uint64_t seq, Change&& change) {
  std::lock_guard lock(mu_);
  auto it = held_.find(seq);
  if (it == held_.end()) return;
  Held& held = it->second;
  change(held);
  if (held.close && !held.bound) {
    evictable_.insert(seq);
  } else {
    evictable_.erase(seq);
  }
}

void Admission::Ticket::set_closer(std::function<void()> close) {
  if (owner_) owner_->change_held(seq_, [&](Held& held) { held.close = std::move(close); });
}

void Admission::Ticket::set_bound(bool bound) {
  if (owner_) owner_->change_held(seq_, [&](Held& held) { held.bound = bound; });
}

Admission::Ticket::~Ticket() {
  release();
}

void Admission::Ticket::release() {
  if (owner_) std::exchange(owner_, nullptr)->release(key_, seq_);
}

Admission::Ticket Admission::admit(const ip::address& address, Clock::time_point now) {
  std::function<void()> evict;
  Ticket ticket;
  {
    std::lock_guard lock(mu_);
    ticket = admit_locked(address, now, evict);
  }
  if (evict) evict();  // posts the close to the evicted connection's strand
  return ticket;
}

Admission::Ticket Admission::admit_locked(const ip::address& address, Clock::time_point now,
                                          std::function<void()>& evict) {
  std::string key = address_key(address);
  if (++admits_ % 256 == 0) sweep(now);
  const core::TokenRate rate = this->rate();
  auto [it, fresh] = sources_.try_emplace(key);
  Source& s = it->second;
  if (fresh) s.bucket = core::TokenBucket<Clock::time_point>(rate, now);
  s.bucket.refill(rate, now);
  if (s.open >= 2 * limits_.max_connections_per_ip) {
    return Ticket(nullptr, std::move(key), Refusal::kMaxConnectionsPerIp);
  }
  const std::size_t max_held = limits_.max_held ? limits_.max_held : 2 * limits_.max_connections;
  if (open_ >= max_held) {
    return Ticket(nullptr, std::move(key), Refusal::kMaxConnections);
  }
  Refusal refusal = Refusal::kNone;
  bool evicted = false;
  if (!s.bucket.can_take(rate, 1)) {
    refusal = Refusal::kNewConnectionsPerIp;
  } else {
    s.bucket.take(1);
    // Per address first: an address over its own limit evicts nobody.
    if (s.open >= limits_.max_connections_per_ip) {
      refusal = Refusal::kMaxConnectionsPerIp;
    } else if (open_ >= limits_.max_connections) {
      evict = take_oldest_evictable();
      evicted = static_cast<bool>(evict);
      if (!evicted) refusal = Refusal::kMaxConnections;
    }
  }
  ++s.open;
  ++open_;
  const std::uint64_t seq = next_seq_++;
  held_.emplace(seq, Held{});
  Ticket ticket(this, std::move(key), refusal, seq);
  ticket.evicted_another_ = evicted;
  return ticket;
}

std::function<void()> Admission::take_oldest_evictable() {
  while (!evictable_.empty()) {
    const std::uint64_t seq = *evictable_.begin();
    evictable_.erase(evictable_.begin());
    auto it = held_.find(seq);
    if (it == held_.end() || !it->second.close) continue;
    // The connection keeps its place until it has closed; it is evicted only once.
    std::function<void()> close = std::move(it->second.close);
    it->second.close = nullptr;
    ++evictions_;
    return close;
  }
  return {};
}

std::uint64_t Admission::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

std::size_t Admission::evictable() const {
  std::lock_guard lock(mu_);
  return evictable_.size();
}

void Admission::release(const std::string& key, std::uint64_t seq) {
  std::lock_guard lock(mu_);
  held_.erase(seq);
  evictable_.erase(seq);
  --open_;
  if (auto it = sources_.find(key); it != sources_.end() && it->second.open > 0) {
    --it->second.open;
  }
}

void Admission::sweep(Clock::time_point now) {
  const core::TokenRate rate = this->rate();
  std::erase_if(sources_, [&](const auto& entry) {
    const Source& s = entry.second;
    return s.open == 0 && s.bucket.full_at(rate, now);
  });
}

std::size_t Admission::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

std::size_t Admission::tracked_addresses() const {
  std::lock_guard lock(mu_);
  return sources_.size();
}

}  // namespace ws::net::detail
