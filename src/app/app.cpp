// Wiring: picks implementations from Config, starts the listener; SIGTERM drain, SIGHUP reload.
#include "app/app.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include <sched.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/assets.hpp"
#include "app/fd_limit.hpp"
#include "app/ice_setup.hpp"
#include "app/runtime.hpp"
#include "app/scheduling.hpp"
#include "auth/jwt.hpp"
#include "auth/pin.hpp"
#include "auth/random.hpp"
#include "core/engine.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "net/server.hpp"
#include "store/json_file_store.hpp"
#include "store/memory_store.hpp"

namespace ws::app {

namespace asio = boost::asio;

namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

core::EngineOptions engine_options(const config::Config& c) {
  core::EngineOptions o;
  o.development = c.development;
  o.id_length = static_cast<std::size_t>(c.workspace_id_len);
  o.max_capacity = static_cast<std::size_t>(c.max_capacity_of_workspace);
  o.reconnect_grace = std::chrono::seconds(c.reconnect_grace_seconds);
  o.ring_timeout = std::chrono::seconds(c.ring_timeout_seconds);
  o.access_token_ttl = std::chrono::seconds(c.access_token_ttl_seconds);
  o.max_former = static_cast<std::size_t>(c.max_former_per_workspace);
  o.untitled_workspace = c.untitled_workspace;
  o.default_workspace_avatar = c.default_workspace_avatar;
  o.anonymous_attendee = c.anonymous_attendee;
  o.default_attendee_avatar = c.default_attendee_avatar;
  o.max_bad_frames = static_cast<int>(c.max_bad_frames);
  o.messages_per_second = static_cast<double>(c.messages_per_second);
  o.messages_burst = static_cast<double>(c.messages_burst);
  o.bytes_per_second = static_cast<double>(c.bytes_per_second);
  o.bytes_burst = static_cast<double>(c.bytes_burst);
  o.workspaces_per_ip_per_hour = static_cast<int>(c.workspaces_per_ip_per_hour);
  o.pin_max_failures = static_cast<int>(c.pin_max_failures);
  o.pin_failure_window = std::chrono::seconds(c.pin_failure_window_seconds);
  o.pin_max_failures_per_workspace = static_cast<int>(c.pin_max_failures_per_workspace);
  o.pin_hash_queue = static_cast<int>(c.pin_hash_queue);
  o.pin_hash_parallel = kPinHashThreads;
  o.idle_ttl = std::chrono::seconds(c.workspace_idle_ttl_seconds);
  o.durable = !c.json_storage_file.empty();
  return o;
}

/// `io_threads`, or when 0 the number of CPUs this process may run on (its affinity mask, so
/// `taskset -c 0` gives one thread): more threads than cores only adds hand-offs.
unsigned io_thread_count(const config::Config& c) {
  if (c.io_threads > 0) return static_cast<unsigned>(c.io_threads);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

net::ServerOptions server_options(const config::Config& c, net::Metrics& metrics) {
  net::ServerOptions o;
  o.bind_address = c.bind_address;
  o.port = c.port;
  o.tls = c.enable_https;
  o.tls_key_file = c.https.key;
  o.tls_cert_file = c.https.cert;
  o.tls_ca_file = c.https.ca;
  o.tls_watch_interval = std::chrono::milliseconds(c.tls_watch_interval_ms);
  o.max_frame_bytes = static_cast<std::size_t>(c.max_frame_bytes);
  o.ping_interval = std::chrono::milliseconds(c.ping_interval_ms);
  o.ping_timeout = std::chrono::milliseconds(c.ping_timeout_ms);
  o.max_queue_bytes = static_cast<std::size_t>(c.max_queue_bytes);
  o.handshake_timeout = std::chrono::milliseconds(c.handshake_timeout_ms);
  o.max_connections = static_cast<std::size_t>(c.max_connections);
  o.max_connections_per_ip = static_cast<std::size_t>(c.max_connections_per_ip);
  o.new_connections_per_ip_per_second = static_cast<double>(c.new_connections_per_ip_per_second);
  o.new_connections_per_ip_burst = static_cast<double>(c.new_connections_per_ip_burst);
  o.allowed_origins = c.allowed_origins;
  o.version = WS_VERSION;
  o.development = c.development;
  o.metrics = &metrics;
  o.static_files = embedded_static_files();
  o.single_thread = io_thread_count(c) == 1;
  return o;
}

/// json_storage_file set: the durable JSON-lines store (PROTOCOL.md §8); else memory only.
std::unique_ptr<store::StateStore> make_store(const config::Config& c) {
  if (c.json_storage_file.empty()) return std::make_unique<store::MemoryStore>();
  return std::make_unique<store::JsonFileStore>(
      store::JsonFileOptions{c.json_storage_file, c.repair},
      [](core::Log line) { net::log_event(line); });
}

/// SIGTERM/SIGINT: stop accepting, `server-shutdown` to all, wait up to the drain time for
/// clients to go, close the rest with 1012, stop (PROTOCOL.md §4.3). A second signal skips
/// the wait.
class Drain {
 public:
  Drain(asio::io_context& ioc, net::Server& server, Runtime& runtime, std::atomic<bool>& ready,
        std::chrono::seconds drain)
      : ioc_(ioc),
        server_(server),
        runtime_(runtime),
        ready_(ready),
        drain_(drain),
        signals_(ioc, SIGTERM, SIGINT),
        timer_(ioc) {
    wait_signal();
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (draining_) {
        net::log_event(spdlog::level::warn, "server.drain_skipped",
                       {{"signal", std::to_string(sig)}});
        deadline_ = std::chrono::steady_clock::now();
      } else {
        start(sig);
      }
      wait_signal();
    });
  }

  void start(int sig) {
    draining_ = true;
    ready_ = false;
    server_.stop_accepting();
    const int retry = static_cast<int>(std::max<std::int64_t>(1, (drain_.count() + 1) / 2));
    net::log_event(spdlog::level::info, "server.shutdown",
                   {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                    {"drain_seconds", std::to_string(drain_.count())},
                    {"connections", std::to_string(server_.connection_count())}});
    runtime_.start_shutdown(retry);
    deadline_ = std::chrono::steady_clock::now() + drain_;
    poll();
  }

  void poll() {
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      auto now = std::chrono::steady_clock::now();
      if (!closed_ && (server_.connection_count() == 0 || now >= deadline_)) {
        closed_ = true;
        net::log_event(spdlog::level::info, "server.closing",
                       {{"connections", std::to_string(server_.connection_count())}});
        server_.close_all(1012, "server restart");
        deadline_ = now + std::chrono::seconds(2);  // bound on close handshakes
      }
      if (closed_ && (server_.connection_count() == 0 || now >= deadline_)) {
        net::log_event(spdlog::level::info, "server.stopped");
        ioc_.stop();
        return;
      }
      poll();
    });
  }

  asio::io_context& ioc_;
  net::Server& server_;
  Runtime& runtime_;
  std::atomic<bool>& ready_;
  std::chrono::seconds drain_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  bool draining_ = false;  // io_context threads only, serialised by the signal/timer chain
  bool closed_ = false;
  std::chrono::steady_clock::time_point deadline_{};
};

/// SIGHUP: reload the TLS certificate (the server logs the outcome). Never stops the server;
/// without TLS there is nothing to reload, and the log says so.
class ReloadOnHangup {
 public:
  ReloadOnHangup(asio::io_context& ioc, net::Server& server, bool tls)
      : server_(server), tls_(tls), signals_(ioc, SIGHUP) {
    wait_signal();
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      if (tls_) {
        net::log_event(spdlog::level::info, "tls.reload_requested", {{"signal", "SIGHUP"}});
        (void)server_.reload_tls();  // logged and counted by the server
      } else {
        net::log_event(spdlog::level::info, "tls.reload_skipped",
                       {{"signal", "SIGHUP"}, {"reason", "TLS is off: no certificate to reload"}});
      }
      wait_signal();
    });
  }

  net::Server& server_;
  const bool tls_;
  asio::signal_set signals_;
};

}  // namespace

int run(const config::Config& cfg, const std::vector<std::string>& warnings) {
  net::init_logging(cfg.log_format == config::LogFormat::kJson, to_spdlog(cfg.log_level));
  for (const auto& w : warnings) net::log_message(spdlog::level::warn, w);
  if (cfg.development) net::log_message(spdlog::level::debug, config::describe(cfg));
  // Each connection is a file descriptor: max_connections comes from the limit, minus a
  // reserve for health checks and the process's own files (docs/protocol.md §11).
  const std::uint64_t fd_limit = raise_open_file_limit();
  const ConnectionBudget budget =
      connection_budget(fd_limit, static_cast<std::uint64_t>(cfg.max_connections));
  if (budget.clamped) {
    net::log_event(spdlog::level::warn, "server.fd_limit",
                   {{"limit", std::to_string(fd_limit)},
                    {"max_connections", std::to_string(cfg.max_connections)},
                    {"clamped_to", std::to_string(budget.max_connections)},
                    {"hint", "raise LimitNOFILE (systemd) or ulimit -Hn to hold max_connections"}});
  }
  net::log_event(spdlog::level::info, "server.connections",
                 {{"fd_limit", std::to_string(fd_limit)},
                  {"max_connections", std::to_string(budget.max_connections)},
                  {"max_held", std::to_string(budget.max_held)}});

  auth::JwtCodec tokens(cfg.magick_token);
  auth::PinHasher pins(cfg.salt_string);
  auth::CsprngRandom random;
  core::Engine engine(engine_options(cfg), tokens, random);
  net::Metrics metrics;
  const unsigned threads = io_thread_count(cfg);
  asio::io_context ioc(static_cast<int>(threads));
  // After the io_context, so it is destroyed first: its writer thread finishes the last
  // changes (e.g. attendees going offline at shutdown) and posts their completions while the
  // io_context still exists.
  std::unique_ptr<store::StateStore> store = make_store(cfg);
  auto ice = make_ice(cfg, ioc.get_executor(), metrics);
  if (!ice) {
    net::log_message(spdlog::level::err, "cannot start: " + ice.error().message);
    return 1;
  }
  Runtime runtime(ioc, RuntimeParts{engine, *store, *ice->provider, pins, metrics, cfg.development,
                                    threads == 1});
  auto snapshot = store->load();
  if (!snapshot) {
    net::log_message(spdlog::level::err, "cannot load state: " + snapshot.error().message);
    return 1;
  }
  net::log_event(
      spdlog::level::info, "store.loaded",
      {{"store", store->name()}, {"workspaces", std::to_string(snapshot->workspaces.size())}});
  runtime.restore(*snapshot);

  std::atomic<bool> ready{true};
  net::HttpHooks hooks;
  hooks.ready = [&] { return ready.load() && store->healthy(); };
  hooks.metrics = [&] {
    core::EngineStats s = runtime.stats();
    const store::StoreStats written = store->stats();
    return metrics.render(
        {{"workspaces_workspaces", static_cast<double>(s.workspaces)},
         {"workspaces_attendees", static_cast<double>(s.attendees)},
         {"workspaces_attendees_online", static_cast<double>(s.online_attendees)},
         {"workspaces_calls", static_cast<double>(s.calls)},
         {"workspaces_pin_hashes_in_flight", static_cast<double>(s.pin_hashes_in_flight)},
         {"workspaces_pin_slow_lane_workspaces", static_cast<double>(s.pin_workspaces_slow_lane)}},
        {{"workspaces_expired_total", static_cast<double>(s.expired_workspaces)},
         {"workspaces_messages_rate_limited_total", static_cast<double>(s.messages_rate_limited)},
         {"workspaces_bytes_rate_limited_total", static_cast<double>(s.bytes_rate_limited)},
         {"workspaces_rate_limit_closes_total", static_cast<double>(s.rate_limit_closes)},
         {"workspaces_creates_rate_limited_total", static_cast<double>(s.workspaces_rate_limited)},
         {"workspaces_store_changes_total", static_cast<double>(written.changes)},
         {"workspaces_store_syncs_total", static_cast<double>(written.syncs)},
         {"workspaces_store_compactions_total", static_cast<double>(written.compactions)},
         {"workspaces_store_written_bytes_total",
          static_cast<double>(written.bytes + written.snapshot_bytes)},
         {"workspaces_pin_checks_refused_busy_total",
          static_cast<double>(s.pin_checks_refused_busy)},
         {"workspaces_pin_checks_refused_workspace_total",
          static_cast<double>(s.pin_checks_refused_workspace)}});
  };
  net::ServerOptions options = server_options(cfg, metrics);
  options.max_connections = static_cast<std::size_t>(budget.max_connections);
  options.max_held_connections = static_cast<std::size_t>(budget.max_held);
  auto server = net::Server::open(ioc, std::move(options), runtime, hooks);
  if (!server) {
    net::log_message(spdlog::level::err, "cannot start: " + server.error().message);
    return 1;
  }
  Drain drain(ioc, **server, runtime, ready, std::chrono::seconds(cfg.shutdown_drain_seconds));
  ReloadOnHangup hangup(ioc, **server, cfg.enable_https);
  (*server)->start();

  const std::string scheme = cfg.enable_https ? "https" : "http";
  net::log_banner(fmt::format(
      "workspaces-server {} ({} mode, {}, ice: {}, store: {}, io threads: {})", WS_VERSION,
      cfg.development ? "development" : "production", cfg.enable_https ? "HTTPS+WSS" : "HTTP+WS",
      ice->provider->name(), store->name(), threads));
  net::log_banner(
      fmt::format("listening on {}://{}:{}", scheme, cfg.bind_address, (*server)->port()));

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&] {
      prefer_short_slices();
      ioc.run();
    });
  }
  prefer_short_slices();
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}

}  // namespace ws::app
