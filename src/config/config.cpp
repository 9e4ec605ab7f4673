// Loading the Config: config file, .env file, process environment and flags, in that order.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/detail.hpp"
#include "config/env_file.hpp"

namespace ws::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultConfigFile = "config.json";
constexpr std::string_view kDefaultEnvFile = ".env";

/// An environment value and where it came from ("environment" or the .env path).
struct Sourced {
  std::string value;
  std::string source;
};

tl::unexpected<core::Error> bad(std::string message, std::string field = {}) {
  return core::fail(core::ErrorCode::kBadRequest, std::move(message), std::move(field));
}

/// The file to read: the explicit path (which must exist), else `fallback` when it
/// exists, else "" (none).
core::Result<std::string> pick_file(const std::optional<std::string>& explicit_path,
                                    std::string_view fallback, std::string_view what) {
  std::error_code ec;
  if (explicit_path) {
    if (!fs::exists(*explicit_path, ec)) {
      return core::fail(core::ErrorCode::kNotFound,
                        std::string(what) + " '" + *explicit_path + "' does not exist");
    }
    return *explicit_path;
  }
  return fs::exists(fallback, ec) ? std::string(fallback) : std::string();
}

core::Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return bad(std::string(what) + " '" + path + "' is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(std::string(what) + " '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return bad(std::string(what) + " '" + path + "' cannot be read");
  return text.str();
}

bool is_environment_key(std::string_view name) {
  const auto& keys = detail::kEnvironmentKeys;
  return std::find(keys.begin(), keys.end(), name) != keys.end();
}

/// The warning for a key of the .env file that load() does not read.
std::string unknown_env_key_warning(const std::string& name, const std::string& path) {
  std::string warning = "unknown key '" + name + "' in " + path;
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto config_keys = detail::config_file_keys();
  if (std::find(config_keys.begin(), config_keys.end(), lower) != config_keys.end()) {
    return warning + " (" + lower + " is a config file key: set it in the config file)";
  }
  std::vector<std::string_view> env_keys(detail::kEnvironmentKeys.begin(),
                                         detail::kEnvironmentKeys.end());
  return warning + detail::did_you_mean(name, env_keys);
}

/// Applies one environment variable. Error messages never quote the value of a secret:
/// only PORT, the booleans and the log settings, which are not secrets, are quoted.
core::Result<void> apply_environment(const std::string& name, const std::string& value,
                                     Config& config) {
  auto boolean = [&](bool& target) -> core::Result<void> {
    auto parsed = parse_bool(value);
    if (!parsed) {
      return bad(name + " must be true/false, 1/0 or yes/no (got '" + value + "')", name);
    }
    target = *parsed;
    return {};
  };

  if (name == "PORT") {
    auto port = parse_port(value);
    if (!port) {
      return bad("PORT must be an integer between 0 and 65535 (got '" + value + "')", name);
    }
    config.port = *port;
  } else if (name == "ENABLE_HTTPS") {
    return boolean(config.enable_https);
  } else if (name == "DEVELOPMENT") {
    return boolean(config.development);
  } else if (name == "MAGICK_TOKEN") {
    config.magick_token = value;
  } else if (name == "SALT_STRING") {
    config.salt_string = value;
  } else if (name == "TWILIO_ACCOUNT_SID") {
    config.twilio_account_sid = value;
  } else if (name == "TWILIO_AUTH_TOKEN") {
    config.twilio_auth_token = value;
  } else if (name == "TWILIO_API_BASE") {
    if (auto problem = detail::check_https_base(value)) return bad(*problem, name);
    config.twilio_api_base = value;
  } else if (name == "TURN_SECRET") {
    config.turn_secret = value;
  } else if (name == "REDIS_URL") {
    config.redis_url = value;
  } else if (name == "LOG_FORMAT") {
    auto format = detail::parse_log_format(value);
    if (!format) return bad("LOG_FORMAT must be text or json (got '" + value + "')", name);
    config.log_format = *format;
  } else if (name == "LOG_LEVEL") {
    auto level = detail::parse_log_level(value);
    if (!level) {
      return bad("LOG_LEVEL must be debug, info, warn or error (got '" + value + "')", name);
    }
    config.log_level = *level;
  }
  return {};
}

}  // namespace

std::string_view to_string(LogFormat format) {
  switch (format) {
    case LogFormat::kText:
      return "text";
    case LogFormat::kJson:
      return "json";
  }
  return "text";
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

Environment environment_from(const char* const* envp) {
  Environment env;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view entry = *envp;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

core::Result<Loaded> load(const CliOptions& cli, const Environment& process_env) {
  Loaded loaded;
  Config& config = loaded.config;
  bool log_level_set = false;

  // Lowest layer above the defaults: the config file.
  auto config_path = pick_file(cli.config_path, kDefaultConfigFile, "config file");
  if (!config_path) return tl::unexpected(config_path.error());
  if (!config_path->empty()) {
    auto text = read_file(*config_path, "config file");
    if (!text) return tl::unexpected(text.error());
    auto applied = detail::apply_config_file(*text, *config_path, config);
    if (!applied) return tl::unexpected(applied.error());
    loaded.warnings = std::move(applied->warnings);
    loaded.config_file = *config_path;
    const auto& keys_set = applied->keys_set;
    log_level_set = std::find(keys_set.begin(), keys_set.end(), "log_level") != keys_set.end();
  }

  // Then the .env file, overridden by the process environment. Empty values are unset
  // (an env-sample's `MAGICK_TOKEN=` placeholder must not count as a secret).
  std::map<std::string, Sourced> env_values;
  auto env_path = pick_file(cli.env_file_path, kDefaultEnvFile, "env file");
  if (!env_path) return tl::unexpected(env_path.error());
  if (!env_path->empty()) {
    auto text = read_file(*env_path, "env file");
    if (!text) return tl::unexpected(text.error());
    auto parsed = parse_env_file(*text);
    if (!parsed) {
      core::Error error = parsed.error();
      error.message = *env_path + ": " + error.message;
      return tl::unexpected(std::move(error));
    }
    for (auto& [name, value] : *parsed) {
      if (!is_environment_key(name)) {
        loaded.warnings.push_back(unknown_env_key_warning(name, *env_path));
      } else if (!value.empty()) {
        env_values[name] = Sourced{std::move(value), *env_path};
      }
    }
    loaded.env_file = *env_path;
  }
  for (std::string_view name : detail::kEnvironmentKeys) {
    auto it = process_env.find(std::string(name));
    if (it != process_env.end() && !it->second.empty()) {
      env_values[it->first] = Sourced{it->second, "environment"};
    }
  }
  for (std::string_view name : detail::kEnvironmentKeys) {
    auto it = env_values.find(std::string(name));
    if (it == env_values.end()) continue;
    if (auto applied = apply_environment(it->first, it->second.value, config); !applied) {
      core::Error error = applied.error();
      error.message = it->second.source + ": " + error.message;
      return tl::unexpected(std::move(error));
    }
    if (name == "LOG_LEVEL") log_level_set = true;
  }

  // Highest: the flags.
  if (cli.port) config.port = *cli.port;
  config.repair = cli.repair;

  // PROTOCOL.md §9 / the seed: development mode logs more, unless a level was chosen.
  if (!log_level_set) config.log_level = config.development ? LogLevel::kDebug : LogLevel::kInfo;
  return loaded;
}

}  // namespace ws::config
