// Internals shared by the files of src/config/ (not for use outside it).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"

namespace ws::config::detail {

/// The environment variables load() reads (PROTOCOL.md §9), in the order it applies them.
inline constexpr std::array<std::string_view, 12> kEnvironmentKeys = {
    "PORT",        "ENABLE_HTTPS",       "MAGICK_TOKEN",      "SALT_STRING",
    "DEVELOPMENT", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE",
    "TURN_SECRET", "REDIS_URL",          "LOG_FORMAT",        "LOG_LEVEL",
};

/// Top-level keys the config file accepts.
std::vector<std::string_view> config_file_keys();

/// What apply_config_file() did besides changing the Config.
struct AppliedFile {
  std::vector<std::string> keys_set;  // top-level keys that were applied
  std::vector<std::string> warnings;  // unknown keys
};

/// Applies a config file's JSON text onto `config`. `path` is only used in messages.
/// Errors name the file and the key, or the line and column of a JSON syntax error.
core::Result<AppliedFile> apply_config_file(std::string_view text, const std::string& path,
                                            Config& config);

/// The known name closest to `unknown` (a near spelling, or a longer or shorter form of
/// it, ignoring case), if any is close enough to be worth suggesting.
std::optional<std::string_view> closest_name(std::string_view unknown,
                                             const std::vector<std::string_view>& known);

/// " (did you mean 'x'?)" for closest_name(), or "" when there is none.
std::string did_you_mean(std::string_view unknown, const std::vector<std::string_view>& known);

/// Parses "text"/"json" (any case).
std::optional<LogFormat> parse_log_format(std::string_view text);

/// Why `url` cannot be TWILIO_API_BASE (an https:// URL with a host and no credentials,
/// query or fragment), or nullopt when it can.
std::optional<std::string> check_https_base(std::string_view url);

/// Parses "debug"/"info"/"warn"/"error" (any case).
std::optional<LogLevel> parse_log_level(std::string_view text);

}  // namespace ws::config::detail
