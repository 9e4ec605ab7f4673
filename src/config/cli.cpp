// Command-line parsing and the --help text.
#include "config/cli.hpp"

#include <string_view>

#include "config/env_file.hpp"

namespace ws::config {
namespace {

core::Result<CliOptions> bad(std::string message) {
  return core::fail(core::ErrorCode::kBadRequest, std::move(message) + " (see --help)");
}

bool is_switch(std::string_view name) {
  return name == "--help" || name == "--version" || name == "--repair";
}

bool takes_value(std::string_view name) {
  return name == "--config" || name == "--env-file" || name == "--port";
}

}  // namespace

core::Result<CliOptions> parse_args(int argc, char** argv) {
  CliOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("--")) return bad("unexpected argument '" + std::string(arg) + "'");

    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const std::string flag(name);

    if (is_switch(name)) {
      if (inline_value) return bad(flag + " takes no value");
      if (name == "--help") options.help = true;
      if (name == "--version") options.version = true;
      if (name == "--repair") options.repair = true;
      continue;
    }
    if (!takes_value(name)) return bad("unknown flag '" + flag + "'");

    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
      value = argv[++i];
    }
    if (value.empty()) return bad(flag + " needs a value");

    if (name == "--port") {
      auto port = parse_port(value);
      if (!port) {
        return bad("--port must be an integer between 0 and 65535 (got '" + std::string(value) +
                   "')");
      }
      options.port = *port;
    } else if (name == "--config") {
      options.config_path = std::string(value);
    } else {
      options.env_file_path = std::string(value);
    }
  }
  return options;
}

std::string usage() {
  return R"(Usage: workspaces-server [options]

WebRTC signaling server (PROTOCOL.md). Settings come from, highest first: flags, the
process environment, the .env file, the JSON config file, built-in defaults.

Options:
  --config PATH     JSON config file (default: ./config.json when it exists)
  --env-file PATH   .env file (default: ./.env when it exists)
  --port N          listening port, 0..65535 (0 = any free port); overrides PORT
  --repair          move a corrupt json_storage_file aside and start from its good part
  --version         print the version and exit
  -h, --help        print this help and exit

Environment (or .env):
  PORT                 listening port (default 9090)
  ENABLE_HTTPS         true|false: serve TLS with https.key/https.cert (default false)
  MAGICK_TOKEN         secret that signs tokens (required outside development)
  SALT_STRING          secret pepper for PIN hashes (required outside development)
  DEVELOPMENT          true|false: development mode (default false)
  TWILIO_ACCOUNT_SID   Twilio account for TURN credentials
  TWILIO_AUTH_TOKEN    Twilio auth token
  TWILIO_API_BASE      Twilio API base URL (default https://api.twilio.com)
  TURN_SECRET          coturn use-auth-secret shared secret (with turn_urls)
  REDIS_URL            Redis URL for shared state
  LOG_FORMAT           text|json (default text)
  LOG_LEVEL            debug|info|warn|error (default info; debug in development)
Booleans accept true/false, 1/0, yes/no.
)";
}

}  // namespace ws::config
