// Process-wide counters and the relay latency histogram, rendered as Prometheus text (0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/server.hpp"

namespace ws::net {

/// Counters for /metrics. Thread-safe: every method may be called from any thread. Owned by the
/// app, which must keep it alive while sessions or the /metrics hook may use it.
/// Label values (events, alert codes) should come from a fixed set: each distinct value is one
/// time series kept for the life of the process.
/// A Prometheus histogram with fixed bucket bounds (seconds; +Inf implicit). Lock-free.
template <std::size_t N>
class Histogram {
 public:
  explicit constexpr Histogram(std::array<double, N> bounds) : bounds_(bounds) {}
  void observe(double seconds);
  /// `name`_bucket/_sum/_count lines, with HELP and TYPE.
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<double, N> bounds_;
  // Non-cumulative counts per bucket; the last one is (bounds_.back(), +Inf].
  std::array<std::atomic<std::uint64_t>, N + 1> counts_{};
  std::atomic<double> sum_{0.0};
};

class Metrics {
 public:
  /// Upper bounds (seconds) of the relay latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 13> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  /// Bounds of the Twilio fetch latency histogram.
  static constexpr std::array<double, 8> kFetchBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void connection_opened(Transport transport);
  void connection_closed(Transport transport);
  void frame_in(Transport transport, std::string_view event);
  void frame_out(Transport transport, std::string_view event, std::uint64_t n = 1);
  void alert(std::string_view code);
  /// A connection refused by a limit of PROTOCOL.md §10 or while draining; `reason` is one of
  /// "max_connections", "max_connections_per_ip", "new_connections_per_ip", "origin",
  /// "draining".
  void connection_refused(std::string_view reason);
  /// A connection closed because its TLS handshake or request headers did not arrive within
  /// handshake_timeout_ms.
  void handshake_timeout();
  /// At max_connections, a connection not bound to a member closed to let a new one in.
  void connection_evicted();
  /// accept() failed (EMFILE, ENFILE, ...): the listener waits before it tries again.
  void accept_failed();
  void auth_failure();
  void pin_failure();
  void observe_relay_latency(double seconds);
  /// One ICE provider asked for an `iceservers` reply (PROTOCOL.md §6), and whether it answered.
  void ice_attempt(std::string_view provider, bool ok);
  /// One HTTP fetch from Twilio's Tokens.json (cache misses only), its outcome and duration.
  void twilio_fetch(bool ok, double seconds);
  /// One TLS certificate reload (SIGHUP, changed files, Server::reload_tls()), and whether the
  /// new certificate is now served.
  void tls_reload(bool ok);
  /// Expiry (notAfter, seconds since the Unix epoch) of the certificate new TLS connections get.
  void tls_certificate_not_after(std::int64_t unix_seconds);

  /// Prometheus text exposition (version 0.0.4) of every metric, then one gauge per entry of
  /// `gauges` and one counter per entry of `counters` (name, value); names are sanitised to
  /// [a-zA-Z0-9_:].
  std::string render(const std::vector<std::pair<std::string, double>>& gauges,
                     const std::vector<std::pair<std::string, double>>& counters = {}) const;

 private:
  static constexpr std::size_t kTransports = 3;
  using Counts = std::map<std::string, std::uint64_t, std::less<>>;

  std::array<std::atomic<std::int64_t>, kTransports> open_{};
  std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::uint64_t> handshake_timeouts_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> accept_failures_{0};
  std::atomic<std::uint64_t> pin_failures_{0};
  Histogram<kLatencyBuckets.size()> relay_latency_{kLatencyBuckets};
  Histogram<kFetchBuckets.size()> twilio_fetch_{kFetchBuckets};
  std::atomic<std::uint64_t> twilio_fetch_failures_{0};
  std::atomic<std::uint64_t> tls_reloads_ok_{0}, tls_reloads_failed_{0};
  std::atomic<std::int64_t> tls_not_after_{0};  // 0: no TLS, the gauge is left out

  mutable std::mutex mu_;  // guards frames_in_, frames_out_, alerts_, refused_, ice_*
  std::array<Counts, kTransports> frames_in_;  // per transport: event -> count
  std::array<Counts, kTransports> frames_out_;
  Counts alerts_;        // code -> count
  Counts refused_;       // reason -> count
  Counts ice_requests_;  // provider -> attempts
  Counts ice_failures_;  // provider -> failed attempts
};

}  // namespace ws::net
