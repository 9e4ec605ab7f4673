// Metrics counters and their Prometheus text exposition (format version 0.0.4).
#include "net/metrics.hpp"

#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace ws::net {
namespace {

constexpr Transport kAllTransports[] = {Transport::kNative, Transport::kEio4, Transport::kEio3};

std::size_t index_of(Transport transport) {
  return static_cast<std::size_t>(transport);
}

void bump(std::map<std::string, std::uint64_t, std::less<>>& counts, std::string_view key,
          std::uint64_t n) {
  auto it = counts.find(key);
  if (it == counts.end()) it = counts.emplace(std::string(key), 0).first;
  it->second += n;
}

// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
std::string sanitize_name(std::string_view name) {
  std::string out(name.empty() ? "_" : name);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) out[i] = '_';
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

template <class... Args>
void append(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  append(out, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

template <std::size_t N>
void Histogram<N>::observe(double seconds) {
  if (std::isnan(seconds)) return;
  if (seconds < 0) seconds = 0;
  std::size_t i = 0;
  while (i < N && seconds > bounds_[i]) ++i;
  ++counts_[i];
  sum_.fetch_add(seconds);
}

// _count is the +Inf bucket, so the histogram stays self-consistent even while observations
// land concurrently (_sum may lag by the observations in flight).
template <std::size_t N>
void Histogram<N>::render(std::string& out, std::string_view name, std::string_view help) const {
  header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += counts_[i].load();
    append(out, "{}_bucket{{le=\"{}\"}} {}\n", name, format_value(bounds_[i]), cumulative);
  }
  cumulative += counts_.back().load();
  append(out, "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  append(out, "{}_sum {}\n", name, format_value(sum_.load()));
  append(out, "{}_count {}\n", name, cumulative);
}

template class Histogram<Metrics::kLatencyBuckets.size()>;
template class Histogram<Metrics::kFetchBuckets.size()>;

void Metrics::connection_opened(Transport transport) {
  ++open_[index_of(transport)];
}
void Metrics::connection_closed(Transport transport) {
  --open_[index_of(transport)];
}

void Metrics::frame_in(Transport transport, std::string_view event) {
  std::lock_guard lock(mu_);
  bump(frames_in_[index_of(transport)], event, 1);
}

void Metrics::frame_out(Transport transport, std::string_view event, std::uint64_t n) {
  std::lock_guard lock(mu_);
  bump(frames_out_[index_of(transport)], event, n);
}

void Metrics::alert(std::string_view code) {
  std::lock_guard lock(mu_);
  bump(alerts_, code, 1);
}

void Metrics::connection_refused(std::string_view reason) {
  std::lock_guard lock(mu_);
  bump(refused_, reason, 1);
}

void Metrics::handshake_timeout() {
  ++handshake_timeouts_;
}

void Metrics::connection_evicted() {
  ++evictions_;
}

void Metrics::accept_failed() {
  ++accept_failures_;
}

void Metrics::auth_failure() {
  ++auth_failures_;
}
void Metrics::pin_failure() {
  ++pin_failures_;
}

void Metrics::observe_relay_latency(double seconds) {
  relay_latency_.observe(seconds);
}

void Metrics::ice_attempt(std::string_view provider, bool ok) {
  std::lock_guard lock(mu_);
  bump(ice_requests_, provider, 1);
  if (!ok) bump(ice_failures_, provider, 1);
}

void Metrics::twilio_fetch(bool ok, double seconds) {
  twilio_fetch_.observe(seconds);
  if (!ok) ++twilio_fetch_failures_;
}

void Metrics::tls_reload(bool ok) {
  ++(ok ? tls_reloads_ok_ : tls_reloads_failed_);
}

void Metrics::tls_certificate_not_after(std::int64_t unix_seconds) {
  tls_not_after_ = unix_seconds;
}

std::string Metrics::render(const std::vector<std::pair<std::string, double>>& gauges,
                            const std::vector<std::pair<std::string, double>>& counters) const {
  std::string out;
  header(out, "workspaces_connections_open", "gauge", "Open client connections.");
  for (Transport t : kAllTransports) {
    append(out, "workspaces_connections_open{{transport=\"{}\"}} {}\n", to_string(t),
           open_[index_of(t)].load());
  }

  {
    std::lock_guard lock(mu_);
    auto frames = [&](std::string_view name, std::string_view help,
                      const std::array<Counts, kTransports>& counts) {
      header(out, name, "counter", help);
      for (Transport t : kAllTransports) {
        for (const auto& [event, n] : counts[index_of(t)]) {
          append(out, "{}{{transport=\"{}\",event=\"{}\"}} {}\n", name, to_string(t),
                 escape_label(event), n);
        }
      }
    };
    frames("workspaces_frames_in_total", "Messages received from clients.", frames_in_);
    frames("workspaces_frames_out_total", "Messages sent to clients.", frames_out_);

    header(out, "workspaces_alerts_total", "counter", "Alerts sent to clients, by code.");
    for (const auto& [code, n] : alerts_) {
      append(out, "workspaces_alerts_total{{code=\"{}\"}} {}\n", escape_label(code), n);
    }

    header(out, "workspaces_connections_refused_total", "counter",
           "Connections refused before the WebSocket upgrade, by limit (PROTOCOL.md §10).");
    for (const auto& [reason, n] : refused_) {
      append(out, "workspaces_connections_refused_total{{reason=\"{}\"}} {}\n",
             escape_label(reason), n);
    }

    auto per_provider = [&](std::string_view name, std::string_view help, const Counts& counts) {
      header(out, name, "counter", help);
      for (const auto& [provider, n] : counts) {
        append(out, "{}{{provider=\"{}\"}} {}\n", name, escape_label(provider), n);
      }
    };
    per_provider("workspaces_ice_requests_total",
                 "iceservers requests each ICE provider was asked to answer.", ice_requests_);
    per_provider("workspaces_ice_failures_total",
                 "iceservers requests an ICE provider failed (the next one was asked).",
                 ice_failures_);
  }

  header(out, "workspaces_auth_failures_total", "counter", "Rejected access or invite tokens.");
  append(out, "workspaces_auth_failures_total {}\n", auth_failures_.load());
  header(out, "workspaces_handshake_timeouts_total", "counter",
         "Connections closed for a TLS handshake or request headers slower than "
         "handshake_timeout_ms.");
  append(out, "workspaces_handshake_timeouts_total {}\n", handshake_timeouts_.load());
  header(out, "workspaces_connections_evicted_total", "counter",
         "Connections not bound to a member closed at max_connections to let a new one in.");
  append(out, "workspaces_connections_evicted_total {}\n", evictions_.load());
  header(out, "workspaces_accept_failures_total", "counter",
         "Failed accept() calls (e.g. out of descriptors), each followed by a pause.");
  append(out, "workspaces_accept_failures_total {}\n", accept_failures_.load());
  header(out, "workspaces_pin_failures_total", "counter", "Wrong workspace PINs.");
  append(out, "workspaces_pin_failures_total {}\n", pin_failures_.load());

  relay_latency_.render(out, "workspaces_relay_latency_seconds",
                        "Time from receiving a relayed message to queueing it for its target.");
  twilio_fetch_.render(out, "workspaces_ice_twilio_fetch_seconds",
                       "Duration of Twilio Tokens.json fetches (cache misses), any outcome.");
  header(out, "workspaces_ice_twilio_fetch_failures_total", "counter",
         "Twilio Tokens.json fetches that failed (error status, timeout, garbage).");
  append(out, "workspaces_ice_twilio_fetch_failures_total {}\n", twilio_fetch_failures_.load());

  header(
      out, "workspaces_tls_reloads_total", "counter",
      "TLS certificate reloads (SIGHUP, changed files); a failed one keeps the old certificate.");
  append(out, "workspaces_tls_reloads_total{{result=\"ok\"}} {}\n", tls_reloads_ok_.load());
  append(out, "workspaces_tls_reloads_total{{result=\"failed\"}} {}\n", tls_reloads_failed_.load());
  if (const std::int64_t not_after = tls_not_after_.load(); not_after != 0) {
    header(out, "workspaces_tls_certificate_not_after_seconds", "gauge",
           "Expiry (Unix time) of the certificate new TLS connections get.");
    append(out, "workspaces_tls_certificate_not_after_seconds {}\n", not_after);
  }

  for (const auto& [name, value] : gauges) {
    const std::string clean = sanitize_name(name);
    header(out, clean, "gauge", "Reported by the application.");
    append(out, "{} {}\n", clean, format_value(value));
  }
  for (const auto& [name, value] : counters) {
    const std::string clean = sanitize_name(name);
    header(out, clean, "counter", "Reported by the application.");
    append(out, "{} {}\n", clean, format_value(value));
  }
  return out;
}

}  // namespace ws::net
