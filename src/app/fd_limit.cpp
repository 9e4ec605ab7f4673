// RLIMIT_NOFILE: soft raised to hard at startup.
#include "app/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace ws::app {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

ConnectionBudget connection_budget(std::uint64_t fd_limit, std::uint64_t configured) {
  ConnectionBudget b;
  if (fd_limit == 0 || fd_limit == UINT64_MAX) {
    b.max_connections = configured ? configured : 50000;
    b.max_held = 2 * b.max_connections;
    return b;
  }
  b.reserve = std::max<std::uint64_t>(64, fd_limit / 20);
  const std::uint64_t usable = fd_limit > b.reserve ? fd_limit - b.reserve : 1;
  b.max_connections = configured ? std::min(configured, usable) : usable;
  b.clamped = configured > usable;
  // Twice max_connections as before, but never into the second half of the reserve.
  const std::uint64_t held_cap = fd_limit > b.reserve / 2 ? fd_limit - b.reserve / 2 : 1;
  b.max_held = std::max(b.max_connections, std::min(2 * b.max_connections, held_cap));
  return b;
}

}  // namespace ws::app
