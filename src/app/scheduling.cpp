#include "app/scheduling.hpp"

#include <cerrno>
#include <cstdint>

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ws::app {
namespace {

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h); glibc 2.36 has no wrapper.
struct SchedAttr {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime;  // for SCHED_OTHER: the requested slice, in ns (6.12+)
  std::uint64_t sched_deadline;
  std::uint64_t sched_period;
};

// The shortest slice the kernel accepts (it clamps to 0.1-100 ms).
constexpr std::uint64_t kShortSliceNs = 100'000;

}  // namespace

bool prefer_short_slices() {
#ifdef SYS_sched_setattr
  SchedAttr attr{};
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  attr.sched_nice = errno == 0 ? nice : 0;
  attr.sched_runtime = kShortSliceNs;
  return ::syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
#else
  return false;
#endif
}

void lower_pin_thread_priority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, 10);  // best effort: a refusal leaves the default
}

}  // namespace ws::app
