// What one run shares: options, the server's address, errors, report fields, and the small
// coroutine tools the scenarios are built from (latch, spawn, sleep, close_all).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "client.hpp"
#include "options.hpp"
#include "stats.hpp"

namespace lg {

class Target;

struct Run {
  Run(asio::io_context& context, Options options) : io(context), opt(std::move(options)) {}

  asio::io_context& io;
  Options opt;
  tcp::endpoint endpoint;
  std::string host_header;  // host:port
  Target* target = nullptr;
  ErrorLog errors;
  boost::json::object fields;  // scenario fields, in report order
  double seconds = 0;          // the measured wall time
  std::optional<double> server_cpu;
  std::optional<long> server_rss_kib;
  milliseconds op_timeout{15000};  // one setup step (connect, upgrade, one reply)
  /// Long-lived clients (pairs, idle connections, owners): heartbeats go to them, and they
  /// are closed when the scenario ends.
  std::vector<std::shared_ptr<Client>> keep;

  /// A new client on this run's io_context.
  std::shared_ptr<Client> client() const { return std::make_shared<Client>(io); }

  /// The server's CPU time now (nullopt without --server-pid; an error when it is gone).
  std::optional<ProcSample> sample_server();
  /// Sets server_cpu from two samples `wall` seconds apart, and server_rss_kib from `end`.
  void record_server(const std::optional<ProcSample>& begin, const std::optional<ProcSample>& end,
                     double wall);
};

/// Counts down running tasks; one coroutine at a time may wait for zero, with a deadline.
class Latch {
 public:
  Latch(asio::io_context& io, long count) : count_(count), timer_(io) {}
  void add(long n = 1) { count_ += n; }
  void done();
  long count() const { return count_; }
  /// True when the count reached zero before `deadline`.
  task<bool> wait(Clock::time_point deadline);

 private:
  long count_;
  asio::steady_timer timer_;
};

/// The closed-loop scenarios' window: waits opt.warmup, then opt.seconds during which the
/// counters `read()` returns grow; sets run.seconds and the server's CPU and RSS, and returns
/// each counter's growth over the window.
task<std::vector<long>> measure_window(Run& run, const std::function<std::vector<long>()>& read);

/// Starts `work` detached; an exception it throws becomes an error of the run, and `latch`
/// (if any) is counted down when it ends either way.
void spawn(Run& run, task<void> work, std::shared_ptr<Latch> latch = nullptr);

task<void> sleep_for(Clock::duration duration);
task<void> sleep_until(Clock::time_point when);

inline Clock::duration seconds_d(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

/// Cleanly closes every running client in parallel; what has not ended within `timeout` is
/// aborted. After it no client calls back into the scenario.
task<void> close_all(Run& run, const std::vector<std::shared_ptr<Client>>& clients,
                     Clock::duration timeout = std::chrono::seconds(5));

/// Setup budget: 30 s plus 20 ms per connection (a slow server still gets time to finish).
inline Clock::duration setup_budget(long connections) {
  return std::chrono::seconds(30) + std::chrono::milliseconds(20) * connections;
}

}  // namespace lg
