// The JSON config file: one table of keys with their type and range checks.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <limits>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "config/detail.hpp"

namespace ws::config::detail {
namespace {

namespace json = boost::json;

/// Upper bound of the keys that only have a lower one: keeps every duration far from
/// overflowing std::chrono arithmetic and every count within an int.
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();

/// An unknown member of an object-valued key: its dotted name and the closest known one.
struct UnknownMember {
  std::string key;
  std::string suggestion;  // dotted, or empty
};

/// Sets one key from its JSON value. `unknown` collects the unknown members of
/// object-valued keys (they become warnings, like unknown top-level keys).
using Setter =
    std::function<core::Result<void>(const json::value& value, const std::string& key,
                                     Config& config, std::vector<UnknownMember>& unknown)>;

struct Key {
  std::string_view name;
  Setter set;
};

tl::unexpected<core::Error> invalid(const std::string& key, const std::string& complaint) {
  return core::fail(core::ErrorCode::kBadRequest, key + " " + complaint, key);
}

std::string kind_of(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number with a fraction or exponent";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

tl::unexpected<core::Error> wrong_type(const std::string& key, std::string_view want,
                                       const json::value& got) {
  return invalid(key, "must be " + std::string(want) + ", not " + kind_of(got));
}

/// Unicode code points of valid UTF-8 (JSON strings are valid UTF-8 once parsed).
std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

template <class T>
Setter integer(T Config::*member, std::int64_t min, std::int64_t max) {
  return [=](const json::value& value, const std::string& key, Config& config,
             std::vector<UnknownMember>&) -> core::Result<void> {
    // Strictly a JSON integer: "5", 5.0 and true are all mistakes worth refusing.
    if (!value.is_int64() && !value.is_uint64()) return wrong_type(key, "an integer", value);
    if (!value.is_int64() || value.get_int64() < min || value.get_int64() > max) {
      return invalid(key, "must be an integer between " + std::to_string(min) + " and " +
                              std::to_string(max) + " (got " + json::serialize(value) + ")");
    }
    config.*member = static_cast<T>(value.get_int64());
    return {};
  };
}

/// A string of `min_len`..`max_len` units; units are code points when `count_code_points`.
Setter text(std::string Config::*member, std::size_t min_len = 0,
            std::size_t max_len = std::numeric_limits<std::size_t>::max(),
            bool count_code_points = false) {
  return [=](const json::value& value, const std::string& key, Config& config,
             std::vector<UnknownMember>&) -> core::Result<void> {
    if (!value.is_string()) return wrong_type(key, "a string", value);
    std::string_view s = value.get_string();
    std::size_t len = count_code_points ? code_points(s) : s.size();
    if (len < min_len) return invalid(key, "must not be empty");
    if (len > max_len) {
      return invalid(key, "must be at most " + std::to_string(max_len) +
                              (count_code_points ? " characters" : " bytes"));
    }
    config.*member = std::string(s);
    return {};
  };
}

/// Default names follow the limits of client-sent names (PROTOCOL.md §2: 64 characters).
Setter display_name(std::string Config::*member) {
  return text(member, 1, 64, true);
}

/// Default avatars follow the limit of client-sent avatars (16 KiB).
Setter avatar(std::string Config::*member) {
  return text(member, 0, 16 * 1024);
}

bool has_scheme(std::string_view url, const std::vector<std::string_view>& schemes) {
  return std::any_of(schemes.begin(), schemes.end(),
                     [&](std::string_view scheme) { return url.starts_with(scheme); });
}

std::string scheme_list(const std::vector<std::string_view>& schemes) {
  std::string out;
  for (std::size_t i = 0; i < schemes.size(); ++i) {
    if (i > 0) out += i + 1 == schemes.size() ? " or " : ", ";
    out += schemes[i];
  }
  return out;
}

/// Checks an array of non-empty strings (each starting with one of `schemes`, if any).
core::Result<std::vector<std::string>> string_array(const json::value& value,
                                                    const std::string& key,
                                                    const std::vector<std::string_view>& schemes) {
  if (!value.is_array()) return wrong_type(key, "an array of strings", value);
  std::vector<std::string> out;
  const json::array& items = value.get_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    if (!items[i].is_string()) return wrong_type(item_key, "a string", items[i]);
    std::string_view item = items[i].get_string();
    if (item.empty()) return invalid(item_key, "must not be empty");
    if (!schemes.empty() && !has_scheme(item, schemes)) {
      return invalid(item_key, "must start with " + scheme_list(schemes));
    }
    out.emplace_back(item);
  }
  return out;
}

Setter strings(std::vector<std::string> Config::*member,
               std::vector<std::string_view> schemes = {}) {
  return [=](const json::value& value, const std::string& key, Config& config,
             std::vector<UnknownMember>&) -> core::Result<void> {
    auto items = string_array(value, key, schemes);
    if (!items) return tl::unexpected(items.error());
    config.*member = std::move(*items);
    return {};
  };
}

/// allowed_origins: each entry an origin as a browser sends it, scheme://host[:port] with no
/// path, or "null" (PROTOCOL.md §10; docs/protocol.md §11).
Setter origins(std::vector<std::string> Config::*member) {
  return [=](const json::value& value, const std::string& key, Config& config,
             std::vector<UnknownMember>&) -> core::Result<void> {
    auto items = string_array(value, key, {});
    if (!items) return tl::unexpected(items.error());
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string& item = (*items)[i];
      if (item == "null") continue;
      auto u = boost::urls::parse_absolute_uri(item);
      const bool origin = u && !u->encoded_host().empty() && !u->has_userinfo() &&
                          (u->encoded_path().empty() || u->encoded_path() == "/") &&
                          !u->has_query() && !u->has_fragment();
      if (!origin) {
        return invalid(key + "[" + std::to_string(i) + "]",
                       "must be an origin like https://app.example.com (scheme://host[:port], "
                       "no path), or null (got '" +
                           item + "')");
      }
    }
    config.*member = std::move(*items);
    return {};
  };
}

template <class T>
Setter choice(T Config::*member, std::optional<T> (*parse)(std::string_view),
              std::string_view allowed) {
  return [=](const json::value& value, const std::string& key, Config& config,
             std::vector<UnknownMember>&) -> core::Result<void> {
    if (!value.is_string()) return wrong_type(key, "a string", value);
    auto parsed = parse(value.get_string());
    if (!parsed) {
      return invalid(
          key, "must be one of " + std::string(allowed) + " (got " + json::serialize(value) + ")");
    }
    config.*member = *parsed;
    return {};
  };
}

/// Records `member` of the object at `key` as unknown, with a suggestion from `known`.
void add_unknown(std::vector<UnknownMember>& unknown, const std::string& key,
                 std::string_view member, const std::vector<std::string_view>& known) {
  auto closest = closest_name(member, known);
  unknown.push_back({key + "." + std::string(member),
                     closest ? key + "." + std::string(*closest) : std::string()});
}

core::Result<void> set_https(const json::value& value, const std::string& key, Config& config,
                             std::vector<UnknownMember>& unknown) {
  if (!value.is_object()) return wrong_type(key, "an object {key, cert, ca}", value);
  for (const auto& member : value.get_object()) {
    const std::string sub_key = key + "." + std::string(member.key());
    std::string* target = member.key() == "key"    ? &config.https.key
                          : member.key() == "cert" ? &config.https.cert
                          : member.key() == "ca"   ? &config.https.ca
                                                   : nullptr;
    if (target == nullptr) {
      add_unknown(unknown, key, member.key(), {"key", "cert", "ca"});
      continue;
    }
    if (!member.value().is_string()) {
      return wrong_type(sub_key, "a string (a path)", member.value());
    }
    *target = std::string(member.value().get_string());
  }
  return {};
}

/// One RTCIceServer: {urls: string | [string], username?: string, credential?: string}.
/// A turn:/turns: URL needs both username and credential, as browsers require.
core::Result<void> check_ice_server(const json::value& value, const std::string& key,
                                    std::vector<UnknownMember>& unknown) {
  if (!value.is_object()) return wrong_type(key, "an object {urls, username?, credential?}", value);
  const json::object& server = value.get_object();
  const std::vector<std::string_view> schemes = {"stun:", "stuns:", "turn:", "turns:"};

  std::vector<std::string> urls;
  const json::value* raw_urls = server.if_contains("urls");
  if (raw_urls == nullptr) return invalid(key + ".urls", "is required");
  if (raw_urls->is_string()) {
    auto one = string_array(json::array{*raw_urls}, key + ".urls", schemes);
    if (!one) return tl::unexpected(one.error());
    urls = std::move(*one);
  } else if (raw_urls->is_array()) {
    auto many = string_array(*raw_urls, key + ".urls", schemes);
    if (!many) return tl::unexpected(many.error());
    if (many->empty()) return invalid(key + ".urls", "must not be empty");
    urls = std::move(*many);
  } else {
    return wrong_type(key + ".urls", "a string or an array of strings", *raw_urls);
  }

  for (const auto& member : server) {
    if (member.key() == "urls") continue;
    if (member.key() != "username" && member.key() != "credential") {
      add_unknown(unknown, key, member.key(), {"urls", "username", "credential"});
      continue;
    }
    if (!member.value().is_string()) {
      return wrong_type(key + "." + std::string(member.key()), "a string", member.value());
    }
  }

  bool has_turn = std::any_of(urls.begin(), urls.end(),
                              [](const std::string& url) { return url.starts_with("turn"); });
  if (has_turn && !(server.contains("username") && server.contains("credential"))) {
    return invalid(key, "has a turn: URL and so needs both username and credential");
  }
  return {};
}

core::Result<void> set_ice_servers(const json::value& value, const std::string& key, Config& config,
                                   std::vector<UnknownMember>& unknown) {
  if (!value.is_array()) return wrong_type(key, "an array of RTCIceServer objects", value);
  const json::array& servers = value.get_array();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    auto checked = check_ice_server(servers[i], key + "[" + std::to_string(i) + "]", unknown);
    if (!checked) return checked;
  }
  config.ice_servers = servers;
  return {};
}

/// Every config-file key (PROTOCOL.md §9, §10) with its type and allowed range.
const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      // The original config.js keys.
      {"tokenDelimiter", text(&Config::token_delimiter, 1)},
      {"WORKSPACE_ID_LEN", integer(&Config::workspace_id_len, 6, 64)},
      {"untitled_workspace", display_name(&Config::untitled_workspace)},
      {"default_workspace_avatar", avatar(&Config::default_workspace_avatar)},
      {"anonymous_attendee", display_name(&Config::anonymous_attendee)},
      {"default_attendee_avatar", avatar(&Config::default_attendee_avatar)},
      {"https", set_https},
      {"json_storage_file", text(&Config::json_storage_file)},
      {"max_capacity_of_workspace", integer(&Config::max_capacity_of_workspace, 1, kMaxInt)},
      // Server and protocol timing.
      {"port", integer(&Config::port, 0, 65535)},
      {"bind_address", text(&Config::bind_address, 1)},
      {"log_format", choice(&Config::log_format, parse_log_format, "\"text\", \"json\"")},
      {"log_level",
       choice(&Config::log_level, parse_log_level, "\"debug\", \"info\", \"warn\", \"error\"")},
      {"reconnect_grace_seconds", integer(&Config::reconnect_grace_seconds, 0, kMaxInt)},
      {"ring_timeout_seconds", integer(&Config::ring_timeout_seconds, 1, kMaxInt)},
      {"access_token_ttl_seconds", integer(&Config::access_token_ttl_seconds, 60, kMaxInt)},
      {"max_former_per_workspace", integer(&Config::max_former_per_workspace, 0, 1000000)},
      {"max_frame_bytes", integer(&Config::max_frame_bytes, 1024, 16777216)},
      {"max_bad_frames", integer(&Config::max_bad_frames, 1, kMaxInt)},
      {"ping_interval_ms", integer(&Config::ping_interval_ms, 100, kMaxInt)},
      {"ping_timeout_ms", integer(&Config::ping_timeout_ms, 100, kMaxInt)},
      {"shutdown_drain_seconds", integer(&Config::shutdown_drain_seconds, 0, kMaxInt)},
      {"max_queue_bytes", integer(&Config::max_queue_bytes, 1024, kMaxInt)},
      {"pin_max_failures", integer(&Config::pin_max_failures, 1, kMaxInt)},
      {"pin_failure_window_seconds", integer(&Config::pin_failure_window_seconds, 1, kMaxInt)},
      {"pin_max_failures_per_workspace",
       integer(&Config::pin_max_failures_per_workspace, 1, 100000)},
      {"pin_hash_queue", integer(&Config::pin_hash_queue, 1, 4096)},
      {"workspace_idle_ttl_seconds", integer(&Config::workspace_idle_ttl_seconds, 0, kMaxInt)},
      {"tls_watch_interval_ms", integer(&Config::tls_watch_interval_ms, 0, kMaxInt)},
      // ICE (PROTOCOL.md §6).
      {"turn_urls", strings(&Config::turn_urls, {"turn:", "turns:"})},
      {"stun_urls", strings(&Config::stun_urls, {"stun:", "stuns:"})},
      {"turn_ttl_seconds", integer(&Config::turn_ttl_seconds, 60, kMaxInt)},
      {"twilio_timeout_ms", integer(&Config::twilio_timeout_ms, 100, 60000)},
      {"ice_servers", set_ice_servers},
      // Abuse limits (PROTOCOL.md §10).
      {"max_connections", integer(&Config::max_connections, 0, kMaxInt)},
      {"max_connections_per_ip", integer(&Config::max_connections_per_ip, 1, kMaxInt)},
      {"new_connections_per_ip_per_second",
       integer(&Config::new_connections_per_ip_per_second, 1, kMaxInt)},
      {"new_connections_per_ip_burst", integer(&Config::new_connections_per_ip_burst, 1, kMaxInt)},
      {"messages_per_second", integer(&Config::messages_per_second, 1, kMaxInt)},
      {"messages_burst", integer(&Config::messages_burst, 1, kMaxInt)},
      {"bytes_per_second", integer(&Config::bytes_per_second, 1, kMaxInt)},
      {"bytes_burst", integer(&Config::bytes_burst, 1, kMaxInt)},
      {"workspaces_per_ip_per_hour", integer(&Config::workspaces_per_ip_per_hour, 1, kMaxInt)},
      {"allowed_origins", origins(&Config::allowed_origins)},
      {"handshake_timeout_ms", integer(&Config::handshake_timeout_ms, 100, kMaxInt)},
      {"io_threads", integer(&Config::io_threads, 0, 256)},
  };
  return table;
}

const Key* find_key(std::string_view name) {
  const auto& table = keys();
  auto it =
      std::find_if(table.begin(), table.end(), [&](const Key& key) { return key.name == name; });
  return it == table.end() ? nullptr : &*it;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

/// The warning for a top-level key the table does not know.
std::string unknown_key_warning(const std::string& name, const std::string& path) {
  std::string warning = "unknown config key '" + name + "' in " + path;
  bool is_environment_key = std::any_of(kEnvironmentKeys.begin(), kEnvironmentKeys.end(),
                                        [&](std::string_view env) { return iequals(env, name); });
  bool is_config_key_in_other_case = std::any_of(
      keys().begin(), keys().end(), [&](const Key& key) { return iequals(key.name, name); });
  // Secrets and modes belong to the environment (the seed keeps them out of config.js,
  // which may be committed); say so instead of guessing a config key. PORT, LOG_LEVEL
  // and LOG_FORMAT do have config keys ("port", ...) and get the suggestion below.
  if (is_environment_key && !is_config_key_in_other_case) {
    return warning + " (" + name +
           " is an environment setting: set it in the environment or the .env file, never in "
           "the config file)";
  }
  return warning + did_you_mean(name, config_file_keys());
}

std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t offset) {
  std::string_view before = text.substr(0, std::min(offset, text.size()));
  std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  std::size_t last_newline = before.rfind('\n');
  std::size_t column =
      last_newline == std::string_view::npos ? before.size() + 1 : before.size() - last_newline;
  return {line, column};
}

core::Result<json::object> parse_object(std::string_view text, const std::string& path) {
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    auto [line, column] = line_and_column(text, consumed);
    return core::fail(core::ErrorCode::kBadRequest,
                      path + ": invalid JSON at line " + std::to_string(line) + ", column " +
                          std::to_string(column) + ": " + ec.message());
  }
  json::value root = parser.release();
  if (!root.is_object()) {
    return core::fail(core::ErrorCode::kBadRequest,
                      path + ": the config file must hold a JSON object, not " + kind_of(root));
  }
  return std::move(root.get_object());
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string_view> config_file_keys() {
  std::vector<std::string_view> names;
  for (const Key& key : keys()) names.push_back(key.name);
  return names;
}

std::optional<std::string_view> closest_name(std::string_view unknown,
                                             const std::vector<std::string_view>& known) {
  constexpr std::size_t kMinPrefix = 4;
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : known) {
    std::size_t distance = edit_distance(unknown, candidate);
    // Close spellings, or a shortened/lengthened name ("max_capacity").
    bool close = distance <= std::max<std::size_t>(2, unknown.size() / 3);
    bool prefix = std::min(unknown.size(), candidate.size()) >= kMinPrefix &&
                  (iequals(candidate.substr(0, unknown.size()), unknown) ||
                   iequals(unknown.substr(0, candidate.size()), candidate));
    if ((close || prefix) && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best.empty()) return std::nullopt;
  return best;
}

std::string did_you_mean(std::string_view unknown, const std::vector<std::string_view>& known) {
  auto closest = closest_name(unknown, known);
  return closest ? " (did you mean '" + std::string(*closest) + "'?)" : std::string();
}

core::Result<AppliedFile> apply_config_file(std::string_view text, const std::string& path,
                                            Config& config) {
  auto root = parse_object(text, path);
  if (!root) return tl::unexpected(root.error());

  AppliedFile applied_file;
  auto& warnings = applied_file.warnings;
  for (const auto& member : *root) {
    const std::string name(member.key());
    const Key* key = find_key(name);
    if (key == nullptr) {
      warnings.push_back(unknown_key_warning(name, path));
      continue;
    }
    std::vector<UnknownMember> unknown_members;
    if (auto applied = key->set(member.value(), name, config, unknown_members); !applied) {
      core::Error error = applied.error();
      error.message = path + ": " + error.message;
      return tl::unexpected(std::move(error));
    }
    for (const UnknownMember& unknown : unknown_members) {
      warnings.push_back("unknown config key '" + unknown.key + "' in " + path +
                         (unknown.suggestion.empty()
                              ? std::string()
                              : " (did you mean '" + unknown.suggestion + "'?)"));
    }
    applied_file.keys_set.push_back(name);
  }
  return applied_file;
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (iequals(text, "text")) return LogFormat::kText;
  if (iequals(text, "json")) return LogFormat::kJson;
  return std::nullopt;
}

std::optional<std::string> check_https_base(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  const std::string got = " (got '" + std::string(url) + "')";
  if (!u || u->scheme() != "https" || u->encoded_host().empty()) {
    return "TWILIO_API_BASE must be an https:// URL: the auth token goes with every request" + got;
  }
  if (u->has_userinfo()) return std::string("TWILIO_API_BASE must not hold credentials");
  if (u->has_query() || u->has_fragment()) {
    return "TWILIO_API_BASE must not have a query or fragment" + got;
  }
  return std::nullopt;
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (iequals(text, "debug")) return LogLevel::kDebug;
  if (iequals(text, "info")) return LogLevel::kInfo;
  if (iequals(text, "warn")) return LogLevel::kWarn;
  if (iequals(text, "error")) return LogLevel::kError;
  return std::nullopt;
}

}  // namespace ws::config::detail
