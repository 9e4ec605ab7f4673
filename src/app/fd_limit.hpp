// The process's open-file limit: every connection is a file descriptor (PROTOCOL.md §10).
#pragma once

#include <cstdint>

namespace ws::app {

/// Raises the soft RLIMIT_NOFILE to the hard limit (a process may, unprivileged), so the
/// server can hold max_connections without `ulimit -n` in every start script. Returns the soft
/// limit now in force, or 0 when it cannot be read.
std::uint64_t raise_open_file_limit();

/// How many connections the descriptor limit allows (PROTOCOL.md §10, docs/protocol.md §11).
struct ConnectionBudget {
  std::uint64_t max_connections = 0;  // WebSocket upgrades and HTTP served up to here
  std::uint64_t max_held = 0;         // sockets held at most; past it closed unanswered
  std::uint64_t reserve = 0;          // descriptors kept back from max_connections
  bool clamped = false;               // the configured max_connections was above the limit
};

/// The reserve is max(64, 5 % of `fd_limit`): its first half answers /healthz, /readyz and
/// /metrics (and refuses upgrades) while max_connections are held and nothing can be evicted;
/// the second half is the process's own (listener, epoll, store, TLS files, logs, threads).
/// `configured` 0 takes max_connections from the limit; above it, it is clamped to it.
/// `fd_limit` 0 (unknown) or UINT64_MAX (unlimited): `configured`, else 50,000, and twice that
/// held, as without a limit.
ConnectionBudget connection_budget(std::uint64_t fd_limit, std::uint64_t configured);

}  // namespace ws::app
