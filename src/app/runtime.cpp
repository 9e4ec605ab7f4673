// Runs the domain Engine on one strand and carries out its Effects.
#include "app/runtime.hpp"
#include "core/overloaded.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "app/scheduling.hpp"
#include "auth/pin.hpp"
#include "ice/ice_provider.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "proto/names.hpp"
#include "proto/parse.hpp"
#include "proto/serialize.hpp"
#include "store/state_store.hpp"

namespace ws::app {

namespace asio = boost::asio;
using core::ConnId;
using core::Overloaded;

namespace {

core::TimePoint wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

bool is_relay(const core::Request& r) {
  return r.event == core::ClientEvent::kIceCandidate ||
         r.event == core::ClientEvent::kNegotiation || r.event == core::ClientEvent::kRing ||
         r.event == core::ClientEvent::kAnswer;
}

}  // namespace

struct Runtime::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& ioc, RuntimeParts p)
      : parts(p),
        strand(p.single_thread ? asio::any_io_executor(ioc.get_executor())
                               : asio::any_io_executor(asio::make_strand(ioc))),
        pool(kPinHashThreads),
        stats_timer(strand) {}

  RuntimeParts parts;
  // The Engine's strand: its own, or the io_context itself when one thread runs it.
  asio::any_io_executor strand;
  asio::thread_pool pool;  // Argon2id work, never on an I/O thread (PROTOCOL.md §3)

  // ---- strand-only state ----
  std::unordered_map<ConnId, std::shared_ptr<net::Connection>> conns;
  std::unordered_map<core::TimerId, std::unique_ptr<asio::steady_timer>> timers;
  struct Batch {
    core::Effects effects;
    std::size_t next = 0;  // first effect not carried out yet
    // Store sequence number of the next Persist not carried out yet: a batch's Persists are
    // issued together, so they are numbered consecutively.
    std::uint64_t next_persist_seq = 0;
  };
  std::deque<Batch> queue;            // batches waiting behind a Persist, in order
  std::uint64_t persist_issued = 0;   // Persists handed to the store
  std::uint64_t persist_durable = 0;  // the store said durable up to here (in order)
  asio::steady_timer stats_timer;
  std::chrono::steady_clock::time_point stats_at{};

  // ---- cross-thread ----
  mutable std::mutex stats_mutex;
  core::EngineStats cached_stats;  // guarded by stats_mutex

  void handle(core::Event event) {
    execute(parts.engine.handle(event, wall_now()));
    refresh_stats(false);
  }

  void refresh_stats(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - stats_at < std::chrono::milliseconds(250)) return;
    stats_at = now;
    std::lock_guard lock(stats_mutex);
    cached_stats = parts.engine.stats();
  }

  void tick_stats() {
    stats_timer.expires_after(std::chrono::seconds(1));
    stats_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->refresh_stats(true);
      self->tick_stats();
    });
  }

  // Effects after a Persist wait until the store says it is durable (PROTOCOL.md §8); later
  // batches queue behind so replies never overtake each other. Every Persist goes to the
  // store as soon as the Engine emits it, so changes queued behind an fsync share the next
  // one (group commit); the store completes them in order.
  void execute(core::Effects effects) {
    if (effects.empty()) return;
    Batch batch{std::move(effects), 0, persist_issued + 1};
    for (auto& e : batch.effects) {
      auto* p = std::get_if<core::Persist>(&e);
      if (!p) continue;
      const std::uint64_t seq = ++persist_issued;
      parts.store.apply(std::move(p->change),
                        [self = shared_from_this(), seq](core::Result<void> r) {
                          asio::post(self->strand, [self, seq, r = std::move(r)] {
                            if (!r) self->store_failed(r.error());
                            self->persist_durable = std::max(self->persist_durable, seq);
                            self->pump();
                          });
                        });
    }
    queue.push_back(std::move(batch));
    pump();
  }

  void pump() {
    while (!queue.empty()) {
      Batch& b = queue.front();
      while (b.next < b.effects.size()) {
        core::Effect& e = b.effects[b.next];
        if (std::holds_alternative<core::Persist>(e)) {
          if (b.next_persist_seq > persist_durable) return;  // not on disk yet
          ++b.next_persist_seq;
        } else {
          carry_out(e);
        }
        ++b.next;
      }
      queue.pop_front();
    }
  }

  /// A change the Engine already made could not be made durable. Retrying an fsync after a
  /// failure is unsafe (the kernel may have dropped the dirty pages), and answering would
  /// acknowledge what is not on disk: stop, so a supervisor restarts from the durable state.
  [[noreturn]] void store_failed(const core::Error& error) {
    net::log_event(spdlog::level::critical, "store.failed",
                   {{"store", parts.store.name()}, {"error", error.message}, {"action", "exit 3"}});
    spdlog::default_logger()->flush();
    std::_Exit(3);
  }

  void note_sent(net::Transport t, const core::ServerMessage& msg, std::uint64_t n) {
    parts.metrics.frame_out(t, proto::name(msg.event), n);
    if (msg.event != core::ServerEvent::kAlert || !msg.data.is_object()) return;
    const auto* code = msg.data.as_object().if_contains("code");
    if (!code || !code->is_string()) return;
    std::string_view c = code->as_string();
    parts.metrics.alert(c);
    if (c.starts_with("token_")) parts.metrics.auth_failure();
    if (c == "pin_invalid") parts.metrics.pin_failure();
  }

  static std::shared_ptr<const std::string> frame_for(net::Transport t,
                                                      const core::ServerMessage& m) {
    if (t == net::Transport::kNative)
      return std::make_shared<const std::string>(proto::serialize(m));
    return std::make_shared<const std::string>(proto::serialize_socketio(m, !m.re.is_null()));
  }

  void carry_out(core::Effect& effect) {
    std::visit(
        Overloaded{
            [&](core::Send& s) {
              auto it = conns.find(s.conn);
              if (it == conns.end()) return;
              auto t = it->second->transport();
              it->second->send(frame_for(t, s.msg));
              note_sent(t, s.msg, 1);
            },
            [&](core::Broadcast& b) {
              // Serialise once per transport; every recipient shares the bytes.
              std::shared_ptr<const std::string> frames[3];
              std::uint64_t counts[3] = {0, 0, 0};
              for (ConnId id : b.conns) {
                auto it = conns.find(id);
                if (it == conns.end()) continue;
                auto t = it->second->transport();
                auto& f = frames[static_cast<int>(t)];
                if (!f) f = frame_for(t, b.msg);
                it->second->send(f);
                ++counts[static_cast<int>(t)];
              }
              for (int t = 0; t < 3; ++t) {
                if (counts[t]) note_sent(static_cast<net::Transport>(t), b.msg, counts[t]);
              }
            },
            [&](core::Close& c) {
              auto it = conns.find(c.conn);
              if (it != conns.end())
                it->second->close(static_cast<std::uint16_t>(c.code), c.reason);
            },
            [&](core::Persist&) {},  // handled in pump()
            [&](core::ArmTimer& a) {
              auto timer = std::make_unique<asio::steady_timer>(strand);
              timer->expires_after(std::max(std::chrono::milliseconds(0), a.at - wall_now()));
              timer->async_wait(
                  [self = shared_from_this(), id = a.id](boost::system::error_code ec) {
                    if (ec) return;
                    self->timers.erase(id);
                    self->handle(core::TimerFired{id});
                  });
              timers[a.id] = std::move(timer);
            },
            [&](core::CancelTimer& c) {
              if (auto it = timers.find(c.id); it != timers.end()) {
                it->second->cancel();
                timers.erase(it);
              }
            },
            [&](core::HashPin& h) {
              asio::post(pool, [self = shared_from_this(), h = std::move(h)] {
                lower_pin_thread_priority();
                auto hash = self->parts.pins.hash(h.pin);
                asio::post(self->strand, [self, id = h.request, hash = std::move(hash)]() mutable {
                  self->handle(core::Completed{id, core::PinHashed{std::move(hash)}});
                });
              });
            },
            [&](core::VerifyPin& v) {
              asio::post(pool, [self = shared_from_this(), v = std::move(v)] {
                lower_pin_thread_priority();
                bool match = self->parts.pins.verify(v.pin, v.hash);
                asio::post(self->strand, [self, id = v.request, match] {
                  self->handle(core::Completed{id, core::PinVerified{match}});
                });
              });
            },
            [&](core::FetchIce& f) {
              parts.ice.fetch(f.attendee, [self = shared_from_this(), id = f.request](
                                              core::Result<boost::json::array> servers) {
                asio::post(self->strand, [self, id, servers = std::move(servers)]() mutable {
                  self->handle(core::Completed{id, core::IceFetched{std::move(servers)}});
                });
              });
            },
            [&](core::Log& l) { net::log_event(l); },
            [&](core::Bound& b) {
              if (auto it = conns.find(b.conn); it != conns.end()) it->second->set_bound(b.bound);
            },
        },
        effect);
  }
};

Runtime::Runtime(asio::io_context& ioc, RuntimeParts parts)
    : impl_(std::make_shared<Impl>(ioc, parts)) {
  asio::post(impl_->strand, [self = impl_] { self->tick_stats(); });
}

Runtime::~Runtime() {
  impl_->pool.join();
}

void Runtime::restore(const core::Snapshot& snapshot) {
  asio::post(impl_->strand, [self = impl_, snapshot] {
    self->execute(self->parts.engine.restore(snapshot, wall_now()));
    self->refresh_stats(true);
  });
}

void Runtime::on_open(std::shared_ptr<net::Connection> conn, std::string peer_ip) {
  asio::dispatch(impl_->strand, [self = impl_, conn = std::move(conn), ip = std::move(peer_ip)] {
    ConnId id = conn->id();
    self->conns[id] = conn;
    self->handle(core::Connected{id, ip});
  });
}

void Runtime::on_text(ConnId conn, net::Transport transport, std::string text,
                      net::FrameCount counted) {
  // Parse on the I/O thread (parallel); only the Engine step is serialised. Both framings
  // decode into the same Request, so the Engine never knows the transport.
  auto received_at = std::chrono::steady_clock::now();
  core::Request req =
      transport == net::Transport::kNative ? proto::parse(text) : proto::parse_socketio(text);
  asio::dispatch(impl_->strand, [self = impl_, conn, req = std::move(req), received_at,
                                 counted]() mutable {
    auto it = self->conns.find(conn);
    if (it == self->conns.end()) return;
    self->parts.metrics.frame_in(it->second->transport(), req.event ? req.event_name : "invalid");
    if (self->parts.development) {
      net::log_event(
          spdlog::level::debug, "request",
          {{"conn", std::to_string(conn.value)}, {"name", req.event ? req.event_name : "invalid"}});
    }
    const bool relay = is_relay(req);
    self->handle(core::Received{conn, std::move(req), counted.frames, counted.bytes});
    if (relay) {
      self->parts.metrics.observe_relay_latency(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - received_at).count());
    }
  });
}

void Runtime::on_binary(ConnId conn, net::FrameCount counted) {
  core::Request req;
  req.frame_error = core::Error{core::ErrorCode::kBadRequest,
                                "binary frames are not supported: send JSON text", "", 0};
  asio::dispatch(impl_->strand, [self = impl_, conn, req = std::move(req), counted]() mutable {
    self->handle(core::Received{conn, std::move(req), counted.frames, counted.bytes});
  });
}

void Runtime::on_frames(ConnId conn, net::FrameCount counted) {
  asio::dispatch(impl_->strand, [self = impl_, conn, counted] {
    self->handle(core::FramesReceived{conn, counted.frames, counted.bytes});
  });
}

void Runtime::on_close(ConnId conn) {
  asio::dispatch(impl_->strand, [self = impl_, conn] {
    self->conns.erase(conn);
    self->handle(core::Disconnected{conn});
  });
}

void Runtime::start_shutdown(int retry_after_s) {
  asio::post(impl_->strand,
             [self = impl_, retry_after_s] { self->handle(core::ShutdownStarted{retry_after_s}); });
}

core::EngineStats Runtime::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->cached_stats;
}

}  // namespace ws::app
