// Structured log lines (text `event key=value ...` or JSON lines) on top of spdlog, for every
// layer.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/engine.hpp"

namespace ws::net {

using LogFields = std::vector<std::pair<std::string, std::string>>;

/// Sets up the process logger on stdout. `json`: one JSON object per line.
void init_logging(bool json, spdlog::level::level_enum level);

/// One structured line: an event name and fields. Callers never pass secrets.
void log_event(spdlog::level::level_enum level, std::string_view event,
               const LogFields& fields = {});

/// A core::Log (from the Engine, a store or an ICE provider) as one structured line.
void log_event(const core::Log& line);

/// A human sentence (banner lines); a `msg` field in JSON mode.
void log_message(spdlog::level::level_enum level, std::string_view message);

/// A startup banner line: shown at info level whatever the configured level. Call before
/// any other thread logs.
void log_banner(std::string_view message);

}  // namespace ws::net
