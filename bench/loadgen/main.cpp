// workspaces-loadgen: drives a signaling server (ours, PeerJS, or the bare Beast relay) with
// one of a few scenarios and prints one JSON line with the results. One thread, one
// io_context; every phase has a deadline, and a watchdog bounds the whole run.
#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include "scenarios.hpp"

namespace {

namespace json = boost::json;
using namespace lg;

/// JSON text with doubles as plain decimals rounded to 3 places (Boost.JSON would write 5E0).
void write_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(key));
        out += ':';
        write_json(out, value);
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& value : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_json(out, value);
      }
      out += ']';
      break;
    }
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[64];
      const auto end = std::to_chars(buf, buf + sizeof buf, std::round(d * 1000) / 1000).ptr;
      out.append(buf, end);
      break;
    }
    default:
      out += json::serialize(v);
  }
}

/// Sends the target's heartbeat to every long-lived client every 5 s (PeerJS only).
task<void> heartbeats(Run& run) {
  const Frame frame{std::string(run.target->heartbeat())};
  for (;;) {
    co_await sleep_for(std::chrono::seconds(5));
    for (const auto& c : run.keep) {
      if (c->running()) c->send(frame);
    }
  }
}

task<void> main_task(Run& run, bool& finished) {
  try {
    co_await run_scenario(run);
  } catch (const std::exception& e) {
    run.errors.add(e.what());
  }
  co_await close_all(run, run.keep);
  finished = true;
  run.io.stop();  // drops whatever is still pending (e.g. loops past their deadline)
}

/// The whole run may take at most this long before the watchdog stops it.
Clock::duration run_budget(const Options& o) {
  const long connections = std::max(
      {static_cast<long>(o.conns), 2L * o.pairs, static_cast<long>(o.members), 2L * o.concurrency});
  const double load = (o.warmup + o.seconds) * (o.scenario == "pinstorm" ? 2 : 1);
  return setup_budget(connections) + seconds_d(load) + std::chrono::seconds(60);
}

void print(const json::object& report) {
  std::string text;
  write_json(text, report);
  std::cout << text << std::endl;
}

json::object header(const Options& o) {
  return {{"target", o.target_name}, {"scenario", o.scenario}};
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::cout << usage();
      return 0;
    }
  }
  Options options;
  try {
    parse_options(argc, argv, options);
  } catch (const std::exception& e) {
    std::cerr << "workspaces-loadgen: " << e.what() << "\n" << usage();
    json::object report = header(options);
    report["ok"] = false;
    report["errors"] = 1;
    report["error_samples"] = json::array{e.what()};
    print(report);
    return 1;
  }
  // 10,000 connections need more descriptors than the usual soft limit.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  asio::io_context io(1);
  const auto target = make_target(options);
  Run run(io, options);
  run.target = target.get();
  run.host_header = options.host + ":" + std::to_string(options.port);
  bool finished = false;
  tcp::resolver resolver(io);
  boost::system::error_code resolve_error;
  const auto results = resolver.resolve(options.host, std::to_string(options.port), resolve_error);
  if (resolve_error || results.empty()) {
    run.errors.add("resolve " + options.host + ": " + resolve_error.message());
  } else {
    run.endpoint = results.begin()->endpoint();
    // The servers bind 127.0.0.1: for "localhost", prefer its IPv4 address.
    for (const auto& r : results) {
      if (r.endpoint().address().is_v4()) {
        run.endpoint = r.endpoint();
        break;
      }
    }
  }
  if (run.errors.count() == 0) {
    asio::co_spawn(io, main_task(run, finished), asio::detached);
    if (!run.target->heartbeat().empty()) asio::co_spawn(io, heartbeats(run), asio::detached);
    asio::steady_timer watchdog(io, run_budget(options));
    watchdog.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      run.errors.add("watchdog: the run took too long, stopped");
      io.stop();
    });
    std::cerr << "loadgen: " << options.target_name << " " << options.scenario << " on "
              << run.host_header << "\n";
    io.run();
  }

  const bool ok = finished && run.errors.count() == 0;
  json::object report = header(options);
  report["ok"] = ok;
  report["errors"] = run.errors.count();
  json::array samples;
  for (const auto& s : run.errors.samples()) samples.emplace_back(s);
  report["error_samples"] = std::move(samples);
  report["seconds"] = run.seconds;
  report["server_cpu"] = run.server_cpu ? json::value(*run.server_cpu) : json::value(nullptr);
  report["server_rss_kib"] =
      run.server_rss_kib ? json::value(*run.server_rss_kib) : json::value(nullptr);
  for (const auto& [key, value] : run.fields) report[key] = value;
  print(report);
  return ok ? 0 : 1;
}
