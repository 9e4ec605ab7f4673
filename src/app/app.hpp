// Wiring: the only place that reads Config to pick implementations, then runs the server.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace ws::app {

/// Builds every part from `config`, serves until SIGTERM/SIGINT and the drain completes.
/// Returns the process exit code (0 after a clean drain). `warnings` are logged at start.
int run(const config::Config& config, const std::vector<std::string>& warnings);

}  // namespace ws::app
