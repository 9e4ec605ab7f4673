// Admission of new TCP connections: the connection limits of PROTOCOL.md §10 (total, per
// client address, and new connections per address per second).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

#include "core/limits.hpp"

namespace ws::net::detail {

struct AdmissionLimits {
  std::size_t max_connections = 50000;
  std::size_t max_connections_per_ip = 200;
  double new_per_ip_per_second = 50;  // token bucket refill rate
  double new_per_ip_burst = 100;      // and size
  /// Sockets held at most, refused ones included: past it a new one is closed unanswered.
  /// 0: twice max_connections. The app sets it within the descriptor limit (PROTOCOL.md §10).
  std::size_t max_held = 0;
};

/// Why a connection may not upgrade to WebSocket; kNone when it may.
enum class Refusal : std::uint8_t {
  kNone,
  kMaxConnections,       // the server holds max_connections already: 503
  kMaxConnectionsPerIp,  // the address holds max_connections_per_ip already: 429
  kNewConnectionsPerIp,  // the address opened connections faster than allowed: 429
};

/// Metric label of a refusal: "max_connections", "max_connections_per_ip",
/// "new_connections_per_ip" ("" for kNone).
std::string_view to_string(Refusal refusal);

/// The client's address as it should be shown and counted: an IPv4 client that a dual-stack
/// listener ("::") sees as ::ffff:a.b.c.d is a.b.c.d.
boost::asio::ip::address unmapped(const boost::asio::ip::address& address);

/// The key the per-address limits count by: an IPv4 address as is (also when mapped into
/// IPv6), an IPv6 address by its /64 prefix, which one host or home usually holds whole.
/// core::address_key() of the unmapped address's text: the Engine's limits use the same key.
std::string address_key(const boost::asio::ip::address& address);

/// Counts open TCP connections per client address and in all, and paces new ones per address
/// with a token bucket. Thread-safe. Must outlive every Ticket it issued.
class Admission {
 public:
  using Clock = std::chrono::steady_clock;

  /// A connection's place in the counts, given back when the Ticket goes (move-only), and the
  /// verdict on its WebSocket upgrade. A connection the server would not even answer holds no
  /// place (see admit()).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    Refusal refusal() const { return refusal_; }
    /// False: close the connection at once, unanswered.
    bool holds_place() const { return owner_ != nullptr; }
    /// This connection got its place by evicting another (see admit()).
    bool evicted_another() const { return evicted_another_; }

    /// How to close this connection when a newcomer evicts it: callable from any thread, it
    /// must post to the connection's strand. Replaces the previous one (the HTTP session's,
    /// then the WebSocket session's). A connection with a closer and not bound is evictable.
    void set_closer(std::function<void()> close);
    /// A connection bound to a member (core's Bound effect) is never evicted.
    void set_bound(bool bound);

   private:
    friend class Admission;
    Ticket(Admission* owner, std::string key, Refusal refusal, std::uint64_t seq = 0)
        : owner_(owner), key_(std::move(key)), refusal_(refusal), seq_(seq) {}
    void release();

    Admission* owner_ = nullptr;  // set while the Ticket holds a place
    std::string key_;
    Refusal refusal_ = Refusal::kNone;
    std::uint64_t seq_ = 0;  // order of admission: lower is older
    bool evicted_another_ = false;
  };

  explicit Admission(AdmissionLimits limits) : limits_(limits) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  /// Counts a new connection from `address` at `now` and decides on its upgrade. Checks, in
  /// order: the address's rate (every new connection takes a token, refused or not), the
  /// server's total, the address's open connections; every check counts the connections
  /// already open, refused ones included. An address (or the server) already holding twice its
  /// limit gets a Ticket that holds no place: the connection is closed unanswered, so a flood
  /// cannot hold sockets beyond that.
  ///
  /// At max_connections a connection that would otherwise be admitted evicts the oldest
  /// evictable one (a closer set, not bound to a member: an HTTP connection that never
  /// upgraded, or a WebSocket that never attended) and takes its place; only when none is
  /// evictable is it refused. The evicted one counts until it has closed.
  Ticket admit(const boost::asio::ip::address& address, Clock::time_point now);

  /// Connections evicted since start.
  std::uint64_t evictions() const;
  /// Connections that could be evicted now.
  std::size_t evictable() const;

  /// Open connections holding a place (refused ones included).
  std::size_t open() const;
  /// Addresses with state kept (open connections, or a bucket still refilling).
  std::size_t tracked_addresses() const;

 private:
  struct Source {
    std::size_t open = 0;
    core::TokenBucket<Clock::time_point> bucket;
  };
  /// What eviction knows of a connection holding a place.
  struct Held {
    std::function<void()> close;
    bool bound = false;
  };
  void release(const std::string& key, std::uint64_t seq);
  /// Under mu_: takes the closer of the oldest evictable connection (empty when there is
  /// none), to be called once mu_ is released (it may end a session, whose Ticket locks mu_).
  std::function<void()> take_oldest_evictable();
  Ticket admit_locked(const boost::asio::ip::address& address, Clock::time_point now,
                      std::function<void()>& evict);
  /// Locks mu_, applies `change` to the Held of `seq` (if it still holds a place), and keeps
  /// `seq` in evictable_ when it has a closer and is not bound. Defined in admission.cpp.
  template <class Change>
  void change_held(std::uint64_t seq, Change&& change);
  /// Forgets addresses with no open connection whose bucket is full again.
  void sweep(Clock::time_point now);
  core::TokenRate rate() const { return {limits_.new_per_ip_per_second, limits_.new_per_ip_burst}; }

  const AdmissionLimits limits_;
  mutable std::mutex mu_;  // guards everything below
  std::unordered_map<std::string, Source> sources_;
  std::size_t open_ = 0;
  std::uint64_t admits_ = 0;  // paces sweep()
  std::uint64_t next_seq_ = 1;
  std::uint64_t evictions_ = 0;
  std::unordered_map<std::uint64_t, Held> held_;  // by seq, every ticket holding a place
  std::set<std::uint64_t> evictable_;             // seqs, oldest first
};

}  // namespace ws::net::detail
