#include "stats.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace lg {

void ErrorLog::add(std::string_view what) {
  ++count_;
  if (samples_.size() < kMaxSamples) {
    samples_.emplace_back(what);
    std::cerr << "loadgen: error: " << what << "\n";
  }
}

std::optional<ProcSample> read_proc(int pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ')' come state (field 3) ... utime is field 14, stime field 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (index == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  ProcSample out;
  out.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      out.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
      break;
    }
  }
  return out;
}

boost::json::object percentiles(std::vector<std::int64_t>& samples) {
  boost::json::object out;
  if (samples.empty()) {
    for (const char* key : {"p50_us", "p99_us", "p999_us", "max_us"}) out[key] = nullptr;
    return out;
  }
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) {
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    auto rank = static_cast<std::size_t>(q * static_cast<double>(samples.size()) + 0.999999);
    rank = std::clamp<std::size_t>(rank, 1, samples.size());
    return static_cast<double>(samples[rank - 1]) / 1000.0;
  };
  out["p50_us"] = at(0.50);
  out["p99_us"] = at(0.99);
  out["p999_us"] = at(0.999);
  out["max_us"] = static_cast<double>(samples.back()) / 1000.0;
  return out;
}

void write_stamp(char* at, std::int64_t ns) {
  auto value = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
  for (std::size_t i = kStampDigits; i-- > 0;) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

std::int64_t read_stamp(std::string_view frame) {
  constexpr std::string_view key = "\"t\":\"";
  const auto pos = frame.rfind(key);
  if (pos == std::string_view::npos || frame.size() < pos + key.size() + kStampDigits) return -1;
  std::int64_t value = 0;
  const char* digits = frame.data() + pos + key.size();
  for (std::size_t i = 0; i < kStampDigits; ++i) {
    const char c = digits[i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string excerpt(std::string_view frame, std::size_t max) {
  std::string out;
  for (char c : frame.substr(0, max)) out += (c >= 32 && c < 127) ? c : '?';
  if (frame.size() > max) out += "...";
  return out;
}

}  // namespace lg
