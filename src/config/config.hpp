// Every server setting and its default (PROTOCOL.md §9, §10); loading, precedence, checks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "config/cli.hpp"
#include "core/error.hpp"

namespace ws::config {

/// LOG_FORMAT / `log_format`.
enum class LogFormat { kText, kJson };

/// LOG_LEVEL / `log_level`.
enum class LogLevel { kDebug, kInfo, kWarn, kError };

/// "text" / "json".
std::string_view to_string(LogFormat format);

/// "debug" / "info" / "warn" / "error".
std::string_view to_string(LogLevel level);

/// TLS files of the config file's `https` object (paths; empty = not set).
struct HttpsFiles {
  std::string key;
  std::string cert;
  std::string ca;  // optional
};

/// All settings. A default-constructed Config holds the defaults of PROTOCOL.md §9/§10.
/// Built once at startup by load() and check(), then read-only (app/ reads it).
struct Config {
  // ---- environment / .env ----
  bool repair = false;             // --repair: move a corrupt json_storage_file aside (§8)
  std::uint16_t port = 9090;       // PORT (also `port` in the config file); 0 = any free port
  bool enable_https = false;       // ENABLE_HTTPS
  std::string magick_token;        // MAGICK_TOKEN, secret: signs JWTs
  std::string salt_string;         // SALT_STRING, secret: PIN hash pepper
  bool development = false;        // DEVELOPMENT
  std::string twilio_account_sid;  // TWILIO_ACCOUNT_SID, secret
  std::string twilio_auth_token;   // TWILIO_AUTH_TOKEN, secret
  std::string twilio_api_base = "https://api.twilio.com";  // TWILIO_API_BASE
  std::string turn_secret;                                 // TURN_SECRET, secret
  std::string redis_url;                                   // REDIS_URL, may hold a password
  LogFormat log_format = LogFormat::kText;                 // LOG_FORMAT or `log_format`
  LogLevel log_level = LogLevel::kInfo;  // LOG_LEVEL or `log_level`; debug if development

  // ---- config file: the original config.js keys ----
  std::string token_delimiter = ":";   // tokenDelimiter
  std::int64_t workspace_id_len = 10;  // WORKSPACE_ID_LEN, 6..64
  std::string untitled_workspace = "Anonymous Workspace";
  std::string default_workspace_avatar;
  std::string anonymous_attendee = "Anonymous";
  std::string default_attendee_avatar;
  HttpsFiles https;               // https.key/cert/ca
  std::string json_storage_file;  // empty = memory only
  std::int64_t max_capacity_of_workspace = 5;

  // ---- config file: keys new in PROTOCOL.md ----
  std::string bind_address = "0.0.0.0";
  std::int64_t reconnect_grace_seconds = 30;
  std::int64_t ring_timeout_seconds = 45;
  std::int64_t access_token_ttl_seconds = 86400;
  // Former members kept per workspace (docs/protocol.md §11): the oldest beyond it is forgotten.
  std::int64_t max_former_per_workspace = 1000;
  std::int64_t max_frame_bytes = 65536;
  std::int64_t max_bad_frames = 20;
  std::int64_t ping_interval_ms = 25000;
  std::int64_t ping_timeout_ms = 20000;
  std::int64_t shutdown_drain_seconds = 10;
  std::int64_t max_queue_bytes = 1048576;  // per-connection outgoing queue cap
  std::int64_t pin_max_failures = 5;       // per address per workspace per window (§3)
  std::int64_t pin_failure_window_seconds = 60;
  // Wrong PINs per workspace per hour, all addresses together, before its slow lane.
  std::int64_t pin_max_failures_per_workspace = 100;
  // PIN hashes in flight (queued for the pool or running) for the whole server.
  std::int64_t pin_hash_queue = 16;
  std::int64_t workspace_idle_ttl_seconds = 2592000;
  // How often the TLS files are checked for a change, which reloads them; 0 = on SIGHUP only.
  std::int64_t tls_watch_interval_ms = 5000;
  std::vector<std::string> turn_urls;  // turn:/turns: URLs for TURN REST credentials (§6)
  std::vector<std::string> stun_urls;  // stun:/stuns: URLs sent along with them
  std::int64_t turn_ttl_seconds = 86400;
  std::int64_t twilio_timeout_ms = 5000;  // whole Tokens.json fetch, then fall back
  boost::json::array ice_servers;         // static RTCIceServer list, shape already validated

  // ---- config file: abuse limits (§10) ----
  std::int64_t max_connections = 0;  // 0: what the descriptor limit allows, minus a reserve
  std::int64_t max_connections_per_ip = 200;
  std::int64_t new_connections_per_ip_per_second = 50;
  std::int64_t new_connections_per_ip_burst = 100;
  std::int64_t messages_per_second = 100;
  std::int64_t messages_burst = 300;
  // Bytes on the wire per connection (every frame's, headers included), a token bucket like
  // messages': far above a full call (a 5-member call's burst is under 100 KiB).
  std::int64_t bytes_per_second = 262144;
  std::int64_t bytes_burst = 1048576;
  std::int64_t workspaces_per_ip_per_hour = 60;
  std::vector<std::string> allowed_origins;  // empty = any origin
  std::int64_t handshake_timeout_ms = 5000;

  // ---- config file: performance ----
  std::int64_t io_threads = 0;  // 0 = one per CPU the process may run on
};

/// The process environment as KEY -> value; main() fills it from `environ`, tests by hand.
using Environment = std::map<std::string, std::string>;

/// Copies a NULL-terminated `KEY=value` array (`environ`, main's envp) into an Environment.
Environment environment_from(const char* const* envp);

/// Result of load(): the settings and the notes to log at startup (unknown keys...).
struct Loaded {
  Config config;
  std::vector<std::string> warnings;
  std::string config_file;  // the config file read, empty when none
  std::string env_file;     // the .env file read, empty when none
};

/// Builds the Config. Precedence, highest first: flag (--port), process environment,
/// env file, config file, default. The config file is `--config` or else ./config.json
/// when it exists; the env file is `--env-file` or else ./.env when it exists; an explicit
/// path that does not exist is an error. Empty environment values count as unset.
/// Errors (kBadRequest, kNotFound for a missing file) name the file, the key and, for
/// JSON syntax, the line and column; they never contain a secret's value.
/// Unknown keys become warnings with a "did you mean" suggestion. Startup only.
core::Result<Loaded> load(const CliOptions& cli, const Environment& process_env);

/// Produces a fresh random secret (development mode); app/ passes a CSPRNG.
using RandomSecretFn = std::function<std::string()>;

/// Startup checks of PROTOCOL.md §9. Production (development false) refuses without
/// MAGICK_TOKEN or SALT_STRING; with ENABLE_HTTPS, refuses a missing or unreadable
/// https.key / https.cert / https.ca (when set). Development fills only the missing
/// secrets with `gen()` and warns. Returns the warnings (plain HTTP outside development,
/// any origin allowed, no ICE configuration, half-configured Twilio or TURN). No message
/// ever contains a secret's value. Startup only.
core::Result<std::vector<std::string>> check(Config& config, RandomSecretFn gen);

/// Multi-line `key = value` summary for DEVELOPMENT debug logs; secrets show as
/// "(set)" / "(unset)", REDIS_URL without its credentials, ice_servers as a count.
std::string describe(const Config& config);

}  // namespace ws::config
