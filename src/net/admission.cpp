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
      refusal_(other.refusal_) {}

Admission::Ticket& Admission::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = std::move(other.key_);
    refusal_ = other.refusal_;
  }
  return *this;
}

Admission::Ticket::~Ticket() {
  release();
}

void Admission::Ticket::release() {
  if (owner_) std::exchange(owner_, nullptr)->release(key_);
}

Admission::Ticket Admission::admit(const ip::address& address, Clock::time_point now) {
  std::string key = address_key(address);
  std::lock_guard lock(mu_);
  if (++admits_ % 256 == 0) sweep(now);
  auto [it, fresh] = sources_.try_emplace(key);
  Source& s = it->second;
  if (fresh) {
    s.tokens = limits_.new_per_ip_burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.tokens = std::min(limits_.new_per_ip_burst,
                        s.tokens + std::max(0.0, elapsed) * limits_.new_per_ip_per_second);
  }
  s.refilled = now;
  if (s.open >= 2 * limits_.max_connections_per_ip) {
    return Ticket(nullptr, std::move(key), Refusal::kMaxConnectionsPerIp);
  }
  if (open_ >= 2 * limits_.max_connections) {
    return Ticket(nullptr, std::move(key), Refusal::kMaxConnections);
  }
  Refusal refusal = Refusal::kNone;
  if (s.tokens < 1) {
    refusal = Refusal::kNewConnectionsPerIp;
  } else {
    s.tokens -= 1;
    if (open_ >= limits_.max_connections) {
      refusal = Refusal::kMaxConnections;
    } else if (s.open >= limits_.max_connections_per_ip) {
      refusal = Refusal::kMaxConnectionsPerIp;
    }
  }
  ++s.open;
  ++open_;
  return Ticket(this, std::move(key), refusal);
}

void Admission::release(const std::string& key) {
  std::lock_guard lock(mu_);
  --open_;
  if (auto it = sources_.find(key); it != sources_.end() && it->second.open > 0) {
    --it->second.open;
  }
}

void Admission::sweep(Clock::time_point now) {
  std::erase_if(sources_, [&](const auto& entry) {
    const Source& s = entry.second;
    if (s.open > 0) return false;
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    return s.tokens + elapsed * limits_.new_per_ip_per_second >= limits_.new_per_ip_burst;
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
