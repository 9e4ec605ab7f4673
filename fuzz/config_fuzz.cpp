// libFuzzer target for the configuration parsers (PROTOCOL.md §9): the `.env` syntax, the
// boolean and port spellings, TWILIO_API_BASE, and the JSON config file. Each input is read as
// all of them; the checks are the documented promises of config/env_file.hpp and
// config/detail.hpp.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "config/config.hpp"
#include "config/detail.hpp"
#include "config/env_file.hpp"

namespace {

namespace json = boost::json;
using namespace ws;
using namespace ws::config;

constexpr std::string_view kPath = "config.json";

void require(bool condition) {
  if (!condition) std::abort();
}

// ---- .env ----

bool is_key(std::string_view key) {
  if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) {
    return false;
  }
  return std::all_of(key.begin(), key.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

/// The value as a double-quoted .env value: `\`, `"` and newlines escaped.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + '"';
}

void check_env_file(std::string_view text) {
  const auto parsed = parse_env_file(text);
  if (!parsed) {
    // "line N: <reason>": never the line itself, which may hold a secret.
    const core::Error& error = parsed.error();
    require(error.code == core::ErrorCode::kBadRequest);
    static constexpr std::string_view kReasons[] = {
        "expected KEY=value", "expected '=' after the key", "unterminated single quote",
        "unexpected text after the closing quote", "unterminated double quote"};
    const std::string& message = error.message;
    require(message.starts_with("line "));
    const std::size_t colon = message.find(": ");
    require(colon != std::string::npos);
    std::size_t line = 0;
    const auto [end, ec] = std::from_chars(message.data() + 5, message.data() + colon, line);
    require(ec == std::errc() && end == message.data() + colon);
    require(line >= 1 &&
            line <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
    require(std::find(std::begin(kReasons), std::end(kReasons),
                      std::string_view(message).substr(colon + 2)) != std::end(kReasons));
    return;
  }

  // Every key is a shell-style name, and writing the variables back as KEY="value" lines (in
  // any order: they are distinct) reads back the same variables.
  std::string written;
  for (const auto& [key, value] : *parsed) {
    require(is_key(key));
    written += key + '=' + quoted(value) + '\n';
  }
  const auto again = parse_env_file(written);
  require(again && *again == *parsed);
}

void check_bool_and_port(std::string_view text) {
  // Spellings are case-insensitive.
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto flag = parse_bool(text);
  require(parse_bool(upper) == flag);
  if (flag) require(text.size() <= 5);

  // A port is 1..5 plain decimal digits of a value up to 65535, nothing else.
  const auto port = parse_port(text);
  const bool digits =
      !text.empty() && text.size() <= 5 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  unsigned value = 0;
  if (digits) std::from_chars(text.data(), text.data() + text.size(), value);
  require(port.has_value() == (digits && value <= 65535));
  if (port) require(*port == value);
}

void check_https_base(std::string_view text) {
  if (!detail::check_https_base(text)) require(text.starts_with("https://"));
}

// ---- the JSON config file ----

/// Everything the config file can set, to compare two Configs.
std::string fingerprint(const Config& c) {
  json::object out;
  const auto strings = [](const std::vector<std::string>& items) {
    json::array array;
    for (const std::string& item : items) array.emplace_back(item);
    return array;
  };
  out["port"] = c.port;
  out["log"] = json::array{static_cast<int>(c.log_format), static_cast<int>(c.log_level)};
  out["texts"] = json::array{c.token_delimiter,
                             c.untitled_workspace,
                             c.default_workspace_avatar,
                             c.anonymous_attendee,
                             c.default_attendee_avatar,
                             c.https.key,
                             c.https.cert,
                             c.https.ca,
                             c.json_storage_file,
                             c.bind_address};
  out["numbers"] = json::array{c.workspace_id_len,
                               c.max_capacity_of_workspace,
                               c.reconnect_grace_seconds,
                               c.ring_timeout_seconds,
                               c.access_token_ttl_seconds,
                               c.max_frame_bytes,
                               c.max_bad_frames,
                               c.ping_interval_ms,
                               c.ping_timeout_ms,
                               c.shutdown_drain_seconds,
                               c.max_queue_bytes,
                               c.pin_max_failures,
                               c.pin_failure_window_seconds,
                               c.workspace_idle_ttl_seconds,
                               c.turn_ttl_seconds,
                               c.twilio_timeout_ms,
                               c.max_connections,
                               c.max_connections_per_ip,
                               c.max_former_per_workspace,
                               c.pin_max_failures_per_workspace,
                               c.pin_hash_queue,
                               c.tls_watch_interval_ms,
                               c.bytes_per_second,
                               c.bytes_burst,
                               c.new_connections_per_ip_per_second,
                               c.new_connections_per_ip_burst,
                               c.messages_per_second,
                               c.messages_burst,
                               c.workspaces_per_ip_per_hour,
                               c.handshake_timeout_ms,
                               c.io_threads};
  out["lists"] = json::array{strings(c.turn_urls), strings(c.stun_urls), strings(c.allowed_origins),
                             c.ice_servers};
  return json::serialize(out);
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool all_start_with(const std::vector<std::string>& items,
                    std::initializer_list<std::string_view> schemes) {
  return std::all_of(items.begin(), items.end(), [&](const std::string& item) {
    return std::any_of(schemes.begin(), schemes.end(),
                       [&](std::string_view scheme) { return item.starts_with(scheme); });
  });
}

/// The limits of PROTOCOL.md §9/§10 that an accepted file leaves in force.
void check_limits(const Config& c) {
  constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();
  const auto within = [](std::int64_t v, std::int64_t lo, std::int64_t hi) {
    return v >= lo && v <= hi;
  };
  require(within(c.workspace_id_len, 6, 64));
  require(within(c.max_frame_bytes, 1024, 16777216));
  require(within(c.twilio_timeout_ms, 100, 60000));
  require(within(c.io_threads, 0, 256));
  require(within(c.access_token_ttl_seconds, 60, kMaxInt));
  require(within(c.ping_interval_ms, 100, kMaxInt) && within(c.ping_timeout_ms, 100, kMaxInt));
  for (std::int64_t positive :
       {c.max_capacity_of_workspace, c.ring_timeout_seconds, c.max_bad_frames, c.pin_max_failures,
        c.pin_failure_window_seconds, c.max_connections_per_ip, c.new_connections_per_ip_per_second,
        c.new_connections_per_ip_burst, c.messages_per_second, c.messages_burst, c.bytes_per_second,
        c.bytes_burst, c.workspaces_per_ip_per_hour}) {
    require(within(positive, 1, kMaxInt));
  }
  require(within(c.max_queue_bytes, 1024, kMaxInt));
  require(within(c.max_former_per_workspace, 0, 1000000));
  require(within(c.pin_max_failures_per_workspace, 1, 100000));
  require(within(c.pin_hash_queue, 1, 4096));
  // max_connections 0 means "what the descriptor limit allows" (PROTOCOL.md §10, docs §11).
  for (std::int64_t any : {c.max_connections, c.reconnect_grace_seconds, c.shutdown_drain_seconds,
                           c.workspace_idle_ttl_seconds, c.tls_watch_interval_ms}) {
    require(within(any, 0, kMaxInt));
  }
  for (const std::string* name : {&c.untitled_workspace, &c.anonymous_attendee}) {
    require(within(static_cast<std::int64_t>(code_points(*name)), 1, 64));
  }
  require(c.default_workspace_avatar.size() <= 16384 && c.default_attendee_avatar.size() <= 16384);
  require(!c.token_delimiter.empty() && !c.bind_address.empty());
  require(all_start_with(c.turn_urls, {"turn:", "turns:"}));
  require(all_start_with(c.stun_urls, {"stun:", "stuns:"}));
  for (const json::value& server : c.ice_servers) {
    require(server.is_object() && server.get_object().contains("urls"));
  }
}

void check_config_file(std::string_view text) {
  Config config;
  const auto applied = detail::apply_config_file(text, std::string(kPath), config);
  if (!applied) {
    require(applied.error().code == core::ErrorCode::kBadRequest);
    require(applied.error().message.starts_with(std::string(kPath) + ": "));
    return;
  }
  const auto known = detail::config_file_keys();
  for (const std::string& key : applied->keys_set) {
    require(std::find(known.begin(), known.end(), key) != known.end());
  }
  for (const std::string& warning : applied->warnings) {
    require(warning.starts_with("unknown config key '"));
  }
  check_limits(config);

  // Applying a file is idempotent: values replace, never accumulate.
  const std::string once = fingerprint(config);
  const auto again = detail::apply_config_file(text, std::string(kPath), config);
  require(again && again->keys_set == applied->keys_set && again->warnings == applied->warnings);
  require(fingerprint(config) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  check_env_file(text);
  check_bool_and_port(text);
  check_https_base(text);
  check_config_file(text);
  return 0;
}
