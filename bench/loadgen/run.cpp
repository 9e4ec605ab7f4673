#include "run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lg {

std::optional<ProcSample> Run::sample_server() {
  if (opt.server_pid == 0) return std::nullopt;
  auto sample = read_proc(opt.server_pid);
  if (!sample) errors.add("server process " + std::to_string(opt.server_pid) + " is gone");
  return sample;
}

void Run::record_server(const std::optional<ProcSample>& begin,
                        const std::optional<ProcSample>& end, double wall) {
  if (begin && end && wall > 0) server_cpu = (end->cpu_seconds - begin->cpu_seconds) / wall;
  if (end) server_rss_kib = end->rss_kib;
}

task<std::vector<long>> measure_window(Run& run, const std::function<std::vector<long>()>& read) {
  co_await sleep_for(seconds_d(run.opt.warmup));
  const auto cpu0 = run.sample_server();
  std::vector<long> counts = read();
  const auto t0 = Clock::now();
  co_await sleep_for(seconds_d(run.opt.seconds));
  const auto cpu1 = run.sample_server();
  const std::vector<long> end = read();
  run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  run.record_server(cpu0, cpu1, run.seconds);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = end[i] - counts[i];
  co_return counts;
}

void Latch::done() {
  if (--count_ <= 0) timer_.cancel();
}

task<bool> Latch::wait(Clock::time_point deadline) {
  if (count_ <= 0) co_return true;
  timer_.expires_at(deadline);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return count_ <= 0;
}

void spawn(Run& run, task<void> work, std::shared_ptr<Latch> latch) {
  asio::co_spawn(run.io, std::move(work), [&run, latch](std::exception_ptr error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        run.errors.add(e.what());
      }
    }
    if (latch) latch->done();
  });
}

task<void> sleep_until(Clock::time_point when) {
  asio::steady_timer timer(co_await asio::this_coro::executor, when);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

task<void> sleep_for(Clock::duration duration) {
  co_await sleep_until(Clock::now() + duration);
}

task<void> close_all(Run& run, const std::vector<std::shared_ptr<Client>>& clients,
                     Clock::duration timeout) {
  for (const auto& c : clients) {
    if (!c) continue;
    if (c->running()) {
      c->stop(std::chrono::duration_cast<milliseconds>(timeout));
    } else if (!c->ended()) {
      c->abort();
    }
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool all_ended = true;
    for (const auto& c : clients) all_ended = all_ended && (!c || c->ended());
    if (all_ended || Clock::now() >= deadline) break;
    co_await sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& c : clients) {
    if (c && !c->ended()) c->abort();
  }
}

}  // namespace lg
