// Per-thread CPU scheduling hints: I/O threads answer first, PIN hashing runs behind them.
#pragma once

namespace ws::app {

/// For an I/O thread: asks the kernel for short time slices (EEVDF's custom slice, Linux 6.12
/// and later), so that when the thread wakes with a message to relay it preempts a running
/// Argon2id hash at once instead of after the hash's slice. Best effort: older kernels ignore
/// it. Returns whether the kernel took it.
bool prefer_short_slices();

/// For an Argon2id thread: nice 10, once per thread (the first call). On a shared core the
/// I/O threads go first; PIN checks get about a tenth of a busy core.
void lower_pin_thread_priority();

}  // namespace ws::app
