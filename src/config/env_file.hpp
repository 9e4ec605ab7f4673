// `.env` file syntax (KEY=value lines) and the boolean and port spellings of the environment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace ws::config {

/// Parses the text of a `.env` file: `KEY=value` lines, `#` comment lines, blank lines,
/// an optional `export ` prefix, 'single' (literal) or "double" quoted values (double
/// quotes understand \n, \" and \\), a ` #` comment after an unquoted value, trailing
/// whitespace trimmed. A later line wins over an earlier one with the same key.
/// Errors (kBadRequest) name the 1-based line number and never quote the line, which may
/// hold a secret. Pure; the caller reads the file.
core::Result<std::map<std::string, std::string>> parse_env_file(std::string_view text);

/// true/false, 1/0, yes/no, case-insensitive; anything else is nullopt.
std::optional<bool> parse_bool(std::string_view text);

/// A TCP port, 0..65535, in plain decimal digits (0 = any free port); else nullopt.
std::optional<std::uint16_t> parse_port(std::string_view text);

}  // namespace ws::config
