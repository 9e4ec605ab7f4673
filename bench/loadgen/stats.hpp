// Counters, error log, latency percentiles and /proc readings of the server under test.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace lg {

using Clock = std::chrono::steady_clock;

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// Every unexpected thing is counted; the first few are kept as text for the report.
class ErrorLog {
 public:
  static constexpr std::size_t kMaxSamples = 5;
  void add(std::string_view what);
  long count() const { return count_; }
  const std::vector<std::string>& samples() const { return samples_; }

 private:
  long count_ = 0;
  std::vector<std::string> samples_;
};

/// utime+stime in seconds and VmRSS in KiB of a process; nullopt once it is gone.
struct ProcSample {
  double cpu_seconds = 0;
  long rss_kib = 0;
};
std::optional<ProcSample> read_proc(int pid);

/// Exact percentiles (nearest rank) of latencies in nanoseconds, reported in microseconds.
/// Sorts `samples`.
boost::json::object percentiles(std::vector<std::int64_t>& samples);

/// Timestamps travel as 19 zero-padded digits inside a JSON string: fixed width, so frames
/// are patched in place, and exact through servers that parse numbers as doubles (PeerJS).
constexpr std::size_t kStampDigits = 19;
void write_stamp(char* at, std::int64_t ns);
/// Reads the stamp that follows the last `"t":"` in `frame`; -1 when there is none.
std::int64_t read_stamp(std::string_view frame);

/// The start of a frame, cut and made printable for an error sample.
std::string excerpt(std::string_view frame, std::size_t max = 160);

}  // namespace lg
