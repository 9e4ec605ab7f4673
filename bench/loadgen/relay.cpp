// Relay throughput (closed loop), one-way latency (open loop), and latency under a PIN attend
// storm. Hot path: prebuilt frames, stamped in place; receivers only look at the frame's
// start and its last `"t":"`.
#include <algorithm>
#include <stdexcept>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "scenarios.hpp"

namespace lg {
namespace {

namespace json = boost::json;

/// One direction of a pair: who sends, what, and how much of it is still on the way.
struct Sender {
  Client* from = nullptr;
  Frame frames[2];  // offer-like and candidate-like, alternating
  int next = 0;
  long in_flight = 0;     // sent, not yet seen by the peer
  std::int64_t last = 0;  // last stamp the peer saw: frames must arrive in order
  std::string name;       // for error samples

  void send(std::int64_t stamp) {
    from->send(frames[next], stamp);
    next ^= 1;
    ++in_flight;
  }
};

/// Builds both directions of every pair.
std::vector<Sender> make_senders(Run& run, const std::vector<PeerPair>& pairs) {
  std::vector<Sender> senders;
  senders.reserve(2 * pairs.size());
  for (const PeerPair& p : pairs) {
    for (int dir = 0; dir < 2; ++dir) {
      const Peer& from = dir == 0 ? p.first : p.second;
      const Peer& to = dir == 0 ? p.second : p.first;
      Sender s;
      s.from = from.client.get();
      s.frames[0] = run.target->relay_frame(from, to, 0, run.opt.size);
      s.frames[1] = run.target->relay_frame(from, to, 1, run.opt.size);
      s.name = from.id + "->" + to.id;
      senders.push_back(std::move(s));
    }
  }
  return senders;
}

/// Checks one received frame; returns its stamp, or -1 when it is not a relay to count.
std::int64_t receive(Run& run, Sender& s, std::string_view frame, std::int64_t now) {
  switch (run.target->classify(frame)) {
    case Kind::kIgnore:
      return -1;
    case Kind::kError:
      run.errors.add("unexpected message at " + s.name + ": " + excerpt(frame));
      return -1;
    case Kind::kRelay:
      break;
  }
  const std::int64_t stamp = read_stamp(frame);
  if (stamp <= 0 || stamp < s.last || stamp > now) {
    run.errors.add("relayed frame " + s.name +
                   " with a bad or out-of-order stamp: " + excerpt(frame));
    return -1;
  }
  s.last = stamp;
  --s.in_flight;
  return stamp;
}

long in_flight(const std::vector<Sender>& senders) {
  long sum = 0;
  for (const auto& s : senders) sum += s.in_flight;
  return sum;
}

/// Waits until nothing is in flight any more, at most `timeout`; true when drained.
task<bool> drain(const std::vector<Sender>& senders, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (in_flight(senders) > 0 && Clock::now() < deadline) {
    co_await sleep_for(std::chrono::milliseconds(5));
  }
  co_return in_flight(senders) == 0;
}

void on_unexpected_end(Run& run, bool expected, const std::string& why) {
  if (!expected) run.errors.add("connection ended under load: " + why);
}

// --- relay ---------------------------------------------------------------------------------

struct RelayState {
  Run* run = nullptr;
  std::vector<Sender> senders;
  bool running = true;
  long sent = 0;
  long delivered = 0;
};

}  // namespace

task<void> relay(Run& run) {
  const Options& o = run.opt;
  run.fields = {{"pairs", o.pairs}, {"window", o.window}, {"size", o.size},
                {"sent", 0},        {"delivered", 0},     {"msgs_per_s", 0}};
  const auto pairs = co_await setup_pairs(run, 2L * o.pairs, 200, true);
  auto st = std::make_shared<RelayState>();
  st->run = &run;
  st->senders = make_senders(run, pairs);
  for (std::size_t i = 0; i < st->senders.size(); ++i) {
    // Client i receives what its peer (i ^ 1) sends.
    Sender* from_peer = &st->senders[i ^ 1];
    st->senders[i].from->start(
        [st, from_peer](std::string_view frame) {
          const std::int64_t now = now_ns();
          if (receive(*st->run, *from_peer, frame, now) < 0) return;
          ++st->delivered;
          if (!st->running) return;
          while (from_peer->in_flight < st->run->opt.window) {
            from_peer->send(now);
            ++st->sent;
          }
        },
        [r = &run](bool expected, const std::string& why) {
          on_unexpected_end(*r, expected, why);
        });
  }
  for (auto& s : st->senders) {
    for (int w = 0; w < o.window; ++w) {
      s.send(now_ns());
      ++st->sent;
    }
  }
  // A named reader, not a temporary in the co_await: g++ 12 destroyed such a temporary twice
  // (ASan: a use after free of `st` when the clients went away).
  const std::function<std::vector<long>()> counters = [st] {
    return std::vector<long>{st->sent, st->delivered};
  };
  const auto grew = co_await measure_window(run, counters);
  st->running = false;
  run.fields["sent"] = grew[0];
  run.fields["delivered"] = grew[1];
  run.fields["msgs_per_s"] = static_cast<double>(grew[1]) / run.seconds;
  if (!co_await drain(st->senders, std::chrono::seconds(5))) {
    run.errors.add(std::to_string(in_flight(st->senders)) + " relayed frames never arrived");
  }
}

// --- latency -------------------------------------------------------------------------------
namespace {

struct LatencyState {
  Run* run = nullptr;
  std::vector<Sender> senders;
  std::int64_t window_begin = 0, window_end = 0;  // stamps in [begin, end) are measured
  long sent = 0;                                  // in the window
  long delivered = 0;                             // in the window
  std::vector<std::int64_t> samples;
};

void attach_latency(Run& run, const std::shared_ptr<LatencyState>& st) {
  for (std::size_t i = 0; i < st->senders.size(); ++i) {
    Sender* from_peer = &st->senders[i ^ 1];
    st->senders[i].from->start(
        [st, from_peer](std::string_view frame) {
          const std::int64_t now = now_ns();
          const std::int64_t stamp = receive(*st->run, *from_peer, frame, now);
          if (stamp < st->window_begin || stamp >= st->window_end) return;
          st->samples.push_back(now - stamp);
          ++st->delivered;
        },
        [r = &run](bool expected, const std::string& why) {
          on_unexpected_end(*r, expected, why);
        });
  }
}

/// Sends `rate` messages per second round-robin over the senders until `stop_ns`; a 1 ms tick
/// sends what is due by the clock, so a late tick catches up and the rate stays exact.
task<void> ticker(std::shared_ptr<LatencyState> st, double rate, std::int64_t start_ns,
                  std::int64_t stop_ns) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::size_t next_sender = 0;
  long sent = 0;
  auto tick = Clock::now();
  for (;;) {
    const std::int64_t now = now_ns();
    if (now >= stop_ns) break;
    const auto due = static_cast<long>(static_cast<double>(now - start_ns) * 1e-9 * rate) - sent;
    for (long i = 0; i < due; ++i) {
      const std::int64_t stamp = now_ns();
      st->senders[next_sender].send(stamp);
      next_sender = (next_sender + 1) % st->senders.size();
      ++sent;
      if (stamp >= st->window_begin && stamp < st->window_end) ++st->sent;
    }
    tick = std::max(tick + std::chrono::milliseconds(1), Clock::now());
    timer.expires_at(tick);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

/// One latency phase: warmup, then the measured window, then a 1 s drain. `at_begin` and
/// `at_end` run at the window's edges. Returns the phase's fields; sets the server readings.
task<json::object> latency_phase(Run& run, std::shared_ptr<LatencyState> st,
                                 const std::function<void()>& at_begin,
                                 const std::function<void()>& at_end) {
  const Options& o = run.opt;
  const std::int64_t start = now_ns();
  const auto warmup_ns = static_cast<std::int64_t>(o.warmup * 1e9);
  const auto seconds_ns = static_cast<std::int64_t>(o.seconds * 1e9);
  st->window_begin = start + warmup_ns;
  st->window_end = st->window_begin + seconds_ns;
  st->sent = st->delivered = 0;
  st->samples.clear();
  st->samples.reserve(static_cast<std::size_t>(o.rate * o.seconds * 1.05) + 16);
  auto done = std::make_shared<Latch>(run.io, 1);
  spawn(run, ticker(st, o.rate, start, st->window_end), done);
  const auto clock_of = [](std::int64_t ns) {
    return Clock::time_point(std::chrono::nanoseconds(ns));
  };
  co_await sleep_until(clock_of(st->window_begin));
  const auto cpu0 = run.sample_server();
  if (at_begin) at_begin();
  co_await sleep_until(clock_of(st->window_end));
  const auto cpu1 = run.sample_server();
  if (at_end) at_end();
  run.seconds = static_cast<double>(seconds_ns) / 1e9;
  run.record_server(cpu0, cpu1, run.seconds);
  co_await done->wait(Clock::now() + std::chrono::seconds(5));
  co_await drain(st->senders, std::chrono::seconds(1));
  json::object out = {
      {"sent", st->sent}, {"delivered", st->delivered}, {"lost", st->sent - st->delivered}};
  for (auto& [key, value] : percentiles(st->samples)) out[key] = value;
  if (run.server_cpu) out["server_cpu"] = *run.server_cpu;
  co_return out;
}

task<std::shared_ptr<LatencyState>> latency_setup(Run& run, long connections) {
  const auto pairs = co_await setup_pairs(run, connections, 200, true);
  auto st = std::make_shared<LatencyState>();
  st->run = &run;
  st->senders = make_senders(run, pairs);
  attach_latency(run, st);
  co_return st;
}

}  // namespace

task<void> latency(Run& run) {
  const Options& o = run.opt;
  run.fields = {{"pairs", o.pairs},   {"size", o.size},   {"rate", o.rate},    {"sent", 0},
                {"delivered", 0},     {"lost", 0},        {"p50_us", nullptr}, {"p99_us", nullptr},
                {"p999_us", nullptr}, {"max_us", nullptr}};
  auto st = co_await latency_setup(run, 2L * o.pairs);
  const json::object phase = co_await latency_phase(run, st, nullptr, nullptr);
  for (const char* key : {"sent", "delivered", "lost", "p50_us", "p99_us", "p999_us", "max_us"}) {
    run.fields[key] = phase.at(key);
  }
  if (st->sent != st->delivered) {
    run.errors.add(std::to_string(st->sent - st->delivered) + " messages lost");
  }
}

// --- pinstorm ------------------------------------------------------------------------------
namespace {

struct StormState {
  bool running = true;
  long attends = 0;
};

task<void> storm_loop(Run& run, std::shared_ptr<StormState> st, std::string invite) {
  while (st->running) {
    try {
      Peer guest = co_await wsp::attend(run, invite, run.opt.pin);
      ++st->attends;
      co_await wsp::leave(run, *guest.client, guest.token);
      co_await guest.client->close(run.op_timeout);
    } catch (const std::exception& e) {
      run.errors.add(std::string("storm: ") + e.what());
      st->running = false;  // one failing storm client is enough to say so; do not spin
    }
  }
}

}  // namespace

task<void> pinstorm(Run& run) {
  const Options& o = run.opt;
  if (o.target != TargetKind::kWorkspaces)
    throw std::runtime_error("pinstorm needs --target workspaces");
  // Our server caps PIN checks in flight per IP and workspace at pin_max_failures (default 5):
  // at most 4 storm clients per PIN workspace, so the default limit is never what is hit.
  const int pin_workspaces = (o.concurrency + 3) / 4;
  run.fields = {{"rate", o.rate},
                {"concurrency", o.concurrency},
                {"pin_workspaces", pin_workspaces},
                {"baseline", nullptr},
                {"storm", nullptr},
                {"attends", 0},
                {"attends_per_s", 0}};
  std::vector<std::string> invites;
  for (int i = 0; i < pin_workspaces; ++i) {
    Peer owner = co_await wsp::create(run, o.pin);
    run.keep.push_back(owner.client);
    start_idle(run, owner.client);
    invites.push_back(owner.invite);
  }
  auto st = co_await latency_setup(run, 2);
  run.fields["baseline"] = co_await latency_phase(run, st, nullptr, nullptr);

  auto storm = std::make_shared<StormState>();
  auto loops = std::make_shared<Latch>(run.io, o.concurrency);
  for (int i = 0; i < o.concurrency; ++i) {
    spawn(run, storm_loop(run, storm, invites[static_cast<std::size_t>(i) % invites.size()]),
          loops);
  }
  long attends0 = 0, attends1 = 0;
  run.fields["storm"] = co_await latency_phase(
      run, st, [&] { attends0 = storm->attends; }, [&] { attends1 = storm->attends; });
  storm->running = false;
  run.fields["attends"] = attends1 - attends0;
  run.fields["attends_per_s"] = static_cast<double>(attends1 - attends0) / run.seconds;
  if (!co_await loops->wait(Clock::now() + run.op_timeout * 3)) {
    run.errors.add("storm clients did not stop in time");
  }
  for (const char* phase : {"baseline", "storm"}) {
    const json::object& p = run.fields.at(phase).as_object();
    if (p.at("lost").as_int64() != 0) {
      run.errors.add(std::string(phase) + ": " + std::to_string(p.at("lost").as_int64()) +
                     " messages lost");
    }
  }
}

}  // namespace lg
