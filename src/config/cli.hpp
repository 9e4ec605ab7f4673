// Command-line flags of the server (--config, --env-file, --port, --help, --version, --repair).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace ws::config {

/// What the command line asked for. Unset optionals fall back to the lower layers of
/// config::load (environment, .env, config file, defaults).
struct CliOptions {
  std::optional<std::string> config_path;    // --config PATH
  std::optional<std::string> env_file_path;  // --env-file PATH
  std::optional<std::uint16_t> port;         // --port N (0 = any free port)
  bool help = false;                         // --help, -h
  bool version = false;                      // --version
  bool repair = false;                       // --repair: move a corrupt store aside (§8)
};

/// Parses argv (argv[0] is the program and is skipped). Accepts `--flag value` and
/// `--flag=value`; a later repetition of a flag wins. Errors (kBadRequest): unknown flag,
/// missing or malformed value, a value given to a flag that takes none, stray arguments.
core::Result<CliOptions> parse_args(int argc, char** argv);

/// Help text: the flags and the environment variables, ending with a newline.
std::string usage();

}  // namespace ws::config
