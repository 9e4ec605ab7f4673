// Startup checks of a loaded Config (PROTOCOL.md §9) and its redacted description.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"

namespace ws::config {
namespace {

namespace fs = std::filesystem;

/// Production refuses secrets shorter than this (bytes): a short MAGICK_TOKEN can be
/// brute-forced offline from any one token, a short SALT_STRING from a stolen store file.
/// Development accepts them.
constexpr std::size_t kMinSecretLength = 32;

struct Secret {
  std::string_view name;
  std::string Config::*member;
  std::string_view lost_on_restart;  // what an ephemeral value breaks
};

constexpr Secret kRequiredSecrets[] = {
    {"MAGICK_TOKEN", &Config::magick_token, "access and invite tokens"},
    {"SALT_STRING", &Config::salt_string, "PIN hashes kept in json_storage_file"},
};

tl::unexpected<core::Error> refuse(std::string message, std::string field) {
  return core::fail(core::ErrorCode::kBadRequest, std::move(message), std::move(field));
}

/// Checks that one TLS file of the `https` object can be read.
core::Result<void> check_tls_file(std::string_view key, const std::string& path, bool required) {
  const std::string name = "https." + std::string(key);
  if (path.empty()) {
    if (!required) return {};
    return refuse("ENABLE_HTTPS is on but " + name + " is not set in the config file", name);
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) return refuse(name + " file '" + path + "' does not exist", name);
  if (!fs::is_regular_file(path, ec)) {
    return refuse(name + " file '" + path + "' is not a regular file", name);
  }
  if (!std::ifstream(path, std::ios::binary)) {
    return refuse(name + " file '" + path + "' is not readable", name);
  }
  return {};
}

std::string secret_state(const std::string& value) {
  return value.empty() ? "(unset)" : "(set)";
}

/// The URL with any user:password@ part replaced by "***@".
std::string without_credentials(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url.empty() ? "(unset)" : "(set)";
  auto host_start = scheme_end + 3;
  auto at = url.find('@', host_start);
  if (at == std::string::npos || url.find('/', host_start) < at) return url;
  return url.substr(0, host_start) + "***" + url.substr(at);
}

std::string or_none(const std::string& value) {
  return value.empty() ? "(none)" : value;
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i > 0 ? ", " : "") + items[i];
  return out + "]";
}

}  // namespace

core::Result<std::vector<std::string>> check(Config& config, RandomSecretFn gen) {
  std::vector<std::string> warnings;

  for (const Secret& secret : kRequiredSecrets) {
    std::string& value = config.*secret.member;
    const std::string name(secret.name);
    if (!value.empty()) {
      if (!config.development && value.size() < kMinSecretLength) {
        return refuse(name + " is shorter than " + std::to_string(kMinSecretLength) +
                          " bytes: production mode needs a long random string (e.g. openssl " +
                          "rand -base64 48)",
                      name);
      }
      continue;
    }
    if (!config.development) {
      return refuse(name + " is not set: production mode needs it (see env-sample)", name);
    }
    // PROTOCOL.md §3: only in development, and only the missing ones, are generated.
    value = gen ? gen() : std::string();
    if (value.empty()) {
      return core::fail(core::ErrorCode::kInternal, "could not generate " + name, name);
    }
    warnings.push_back(name + " is not set: using a random one for this run (development " +
                       "mode); " + std::string(secret.lost_on_restart) +
                       " will not survive a restart");
  }

  if (config.enable_https) {
    auto tls = check_tls_file("key", config.https.key, true)
                   .and_then([&] { return check_tls_file("cert", config.https.cert, true); })
                   .and_then([&] { return check_tls_file("ca", config.https.ca, false); });
    if (!tls) return tl::unexpected(tls.error());
  } else if (!config.development) {
    warnings.push_back(
        "PLAIN HTTP IN PRODUCTION MODE: tokens and signaling travel unencrypted and browsers "
        "allow WebRTC only on secure origins; set ENABLE_HTTPS=true with https.key and "
        "https.cert, or serve through a TLS proxy");
  }

  if (!config.development && config.allowed_origins.empty()) {
    warnings.push_back(
        "allowed_origins is empty: WebSocket upgrades from any web origin are accepted; list "
        "your web app's origins in the config file");
  }

  // An owner whose call fills the workspace sends an offer and some 40 ICE candidates to each
  // other member at once (PROTOCOL.md §10: a normal call stays under the limits).
  const std::int64_t call_burst = 41 * (config.max_capacity_of_workspace - 1);
  if (config.messages_burst < call_burst) {
    warnings.push_back("messages_burst " + std::to_string(config.messages_burst) +
                       " is below what an owner sends when a call fills a workspace of " +
                       std::to_string(config.max_capacity_of_workspace) +
                       " (an offer and about 40 ICE candidates per member: " +
                       std::to_string(call_burst) + "); such calls will meet rate_limited");
  }

  // One message of max_frame_bytes must fit the byte bucket, or it could never pass.
  if (config.bytes_burst < config.max_frame_bytes + 14) {
    warnings.push_back("bytes_burst " + std::to_string(config.bytes_burst) +
                       " is below one frame of max_frame_bytes (" +
                       std::to_string(config.max_frame_bytes) +
                       "): a message that large takes the whole bucket");
  }

  // PROTOCOL.md §6: which ICE source will answer `iceservers`.
  const bool has_sid = !config.twilio_account_sid.empty();
  const bool has_auth = !config.twilio_auth_token.empty();
  const bool has_turn_secret = !config.turn_secret.empty();
  const bool has_turn_urls = !config.turn_urls.empty();
  if (has_sid != has_auth) {
    warnings.push_back(std::string(has_sid ? "TWILIO_ACCOUNT_SID" : "TWILIO_AUTH_TOKEN") +
                       " is set without " + (has_sid ? "TWILIO_AUTH_TOKEN" : "TWILIO_ACCOUNT_SID") +
                       ": Twilio is not used");
  }
  if (has_turn_secret != has_turn_urls) {
    warnings.push_back(has_turn_secret
                           ? "TURN_SECRET is set but turn_urls is empty: no TURN credentials"
                           : "turn_urls is set but TURN_SECRET is not: no TURN credentials");
  }
  const bool has_ice =
      (has_sid && has_auth) || (has_turn_secret && has_turn_urls) || !config.ice_servers.empty();
  if (!config.development && !has_ice) {
    warnings.push_back(
        "no ICE configuration (Twilio, TURN_SECRET with turn_urls, or ice_servers): clients "
        "get Google's public STUN servers only, and calls behind NAT will fail without TURN");
  }
  return warnings;
}

std::string describe(const Config& c) {
  std::ostringstream out;
  auto line = [&](std::string_view key, const auto& value) {
    out << key << " = " << value << '\n';
  };
  line("PORT", c.port);
  line("ENABLE_HTTPS", c.enable_https ? "true" : "false");
  line("DEVELOPMENT", c.development ? "true" : "false");
  line("MAGICK_TOKEN", secret_state(c.magick_token));
  line("SALT_STRING", secret_state(c.salt_string));
  line("TWILIO_ACCOUNT_SID", secret_state(c.twilio_account_sid));
  line("TWILIO_AUTH_TOKEN", secret_state(c.twilio_auth_token));
  line("TWILIO_API_BASE", c.twilio_api_base);
  line("TURN_SECRET", secret_state(c.turn_secret));
  line("REDIS_URL", c.redis_url.empty() ? "(unset)" : without_credentials(c.redis_url));
  line("log_format", to_string(c.log_format));
  line("log_level", to_string(c.log_level));
  line("bind_address", c.bind_address);
  line("tokenDelimiter", c.token_delimiter);
  line("WORKSPACE_ID_LEN", c.workspace_id_len);
  line("untitled_workspace", c.untitled_workspace);
  line("default_workspace_avatar", std::to_string(c.default_workspace_avatar.size()) + " bytes");
  line("anonymous_attendee", c.anonymous_attendee);
  line("default_attendee_avatar", std::to_string(c.default_attendee_avatar.size()) + " bytes");
  line("https.key", or_none(c.https.key));
  line("https.cert", or_none(c.https.cert));
  line("https.ca", or_none(c.https.ca));
  line("json_storage_file", c.json_storage_file.empty() ? "(memory only)" : c.json_storage_file);
  line("max_capacity_of_workspace", c.max_capacity_of_workspace);
  line("reconnect_grace_seconds", c.reconnect_grace_seconds);
  line("ring_timeout_seconds", c.ring_timeout_seconds);
  line("access_token_ttl_seconds", c.access_token_ttl_seconds);
  line("max_former_per_workspace", c.max_former_per_workspace);
  line("max_frame_bytes", c.max_frame_bytes);
  line("max_bad_frames", c.max_bad_frames);
  line("ping_interval_ms", c.ping_interval_ms);
  line("ping_timeout_ms", c.ping_timeout_ms);
  line("shutdown_drain_seconds", c.shutdown_drain_seconds);
  line("max_queue_bytes", c.max_queue_bytes);
  line("pin_max_failures", c.pin_max_failures);
  line("pin_failure_window_seconds", c.pin_failure_window_seconds);
  line("pin_max_failures_per_workspace", c.pin_max_failures_per_workspace);
  line("pin_hash_queue", c.pin_hash_queue);
  line("workspace_idle_ttl_seconds", c.workspace_idle_ttl_seconds);
  line("tls_watch_interval_ms", c.tls_watch_interval_ms);
  line("turn_urls", list(c.turn_urls));
  line("stun_urls", list(c.stun_urls));
  line("turn_ttl_seconds", c.turn_ttl_seconds);
  line("twilio_timeout_ms", c.twilio_timeout_ms);
  // Static ICE entries may carry TURN credentials: count them, never print them.
  line("ice_servers", std::to_string(c.ice_servers.size()) + " entries");
  line("max_connections", c.max_connections);
  line("max_connections_per_ip", c.max_connections_per_ip);
  line("new_connections_per_ip_per_second", c.new_connections_per_ip_per_second);
  line("new_connections_per_ip_burst", c.new_connections_per_ip_burst);
  line("messages_per_second", c.messages_per_second);
  line("messages_burst", c.messages_burst);
  line("bytes_per_second", c.bytes_per_second);
  line("bytes_burst", c.bytes_burst);
  line("workspaces_per_ip_per_hour", c.workspaces_per_ip_per_hour);
  line("allowed_origins", c.allowed_origins.empty() ? "[] (any)" : list(c.allowed_origins));
  line("handshake_timeout_ms", c.handshake_timeout_ms);
  line("io_threads", c.io_threads);
  std::string text = out.str();
  text.pop_back();  // no trailing newline: the caller logs it as one block
  return text;
}

}  // namespace ws::config
