// The process's open-file limit: every connection is a file descriptor (PROTOCOL.md §10).
#pragma once

#include <cstdint>

namespace ws::app {

/// Raises the soft RLIMIT_NOFILE to the hard limit (a process may, unprivileged), so the
/// server can hold max_connections without `ulimit -n` in every start script. Returns the soft
/// limit now in force, or 0 when it cannot be read.
std::uint64_t raise_open_file_limit();

}  // namespace ws::app
