// core::Engine: event dispatch, the authentication pipeline of PROTOCOL.md §2, helpers.
#include "core/engine.hpp"
#include "core/overloaded.hpp"

#include <algorithm>

#include "core/address_key.hpp"
#include "core/engine_impl.hpp"

namespace ws::core {

namespace {

bool is_owner_only(ClientEvent e) {
  return e == ClientEvent::kDestroy || e == ClientEvent::kKick || e == ClientEvent::kRing ||
         e == ClientEvent::kHangup;
}

}  // namespace

// ---------------- small domain types ----------------

bool Call::has_participant(const AttendeeId& a) const {
  return std::find(rec.participants.begin(), rec.participants.end(), a) != rec.participants.end();
}

Member* Workspace::member(const AttendeeId& a) {
  auto it = members.find(a);
  return it == members.end() ? nullptr : &it->second;
}

void FormerMembers::add(FormerRecord rec) {
  erase(rec.id);
  const AttendeeId id = rec.id;
  list_.push_back(std::move(rec));
  index_[id] = std::prev(list_.end());
}

const FormerRecord* FormerMembers::find(const AttendeeId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &*it->second;
}

bool FormerMembers::erase(const AttendeeId& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  list_.erase(it->second);
  index_.erase(it);
  return true;
}

WorkspaceRecord Workspace::record() const {
  WorkspaceRecord r{id, name, avatar, owner, created_ms, pin_hash, invite, {}, {}, {}, {}};
  for (const auto& aid : join_order) r.members.push_back(members.at(aid).rec);
  r.former.assign(former.begin(), former.end());
  if (call) r.call = call->rec;
  r.idle_since_ms = idle_since_ms;
  return r;
}

// ---------------- Engine ----------------

Engine::Engine(EngineOptions options, const TokenCodec& tokens, RandomSource& random)
    : impl_(std::make_unique<Impl>(std::move(options), tokens, random)) {}

Engine::~Engine() = default;

Effects Engine::restore(const Snapshot& snapshot, TimePoint now) {
  Effects out;
  auto& m = *impl_;
  for (const auto& r : snapshot.workspaces) {
    Workspace ws;
    ws.id = r.id;
    ws.name = r.name;
    ws.avatar = r.avatar;
    ws.owner = r.owner;
    ws.created_ms = r.created_ms;
    ws.pin_hash = r.pin_hash;
    ws.invite = r.invite;
    for (const auto& a : r.members) {
      ws.members[a.id] = Member{a, std::nullopt, std::nullopt};
      ws.join_order.push_back(a.id);
    }
    for (const auto& a : r.former) ws.former.add(a);
    if (r.call) ws.call = Call{*r.call, {}};  // rings in flight are dropped (PROTOCOL.md §8)
    // Nobody is online after a restart: idle since it was recorded, else since boot.
    ws.idle_since_ms = r.idle_since_ms;
    auto [it, inserted] = m.workspaces.emplace(r.id, std::move(ws));
    // After a restart every attendee is offline with a fresh grace period from boot.
    for (auto& [aid, member] : it->second.members) {
      member.grace_timer =
          m.arm(out, TimerInfo{TimerInfo::Kind::kGrace, r.id, aid}, now + m.opt.reconnect_grace);
    }
    m.update_idle(it->second, now, out);
    // Former members whose tokens expired while the server was down, or more than this
    // server keeps (a lower max_former_per_workspace, or a file of format 1).
    m.prune_former(it->second, now, out);
  }
  return out;
}

Snapshot Engine::snapshot() const {
  Snapshot s;
  s.workspaces.reserve(impl_->workspaces.size());
  for (const auto& [id, ws] : impl_->workspaces) s.workspaces.push_back(ws.record());
  std::sort(s.workspaces.begin(), s.workspaces.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return s;
}

Effects Engine::handle(const Event& event, TimePoint now) {
  auto& m = *impl_;
  Effects out =
      std::visit(Overloaded{
                     [&](const Connected& e) -> Effects {
                       Conn conn;
                       conn.ip = e.peer_ip;
                       conn.key = address_key(e.peer_ip);
                       conn.bucket.frames = TokenBucket<TimePoint>(m.message_rate(), now);
                       conn.bucket.bytes = TokenBucket<TimePoint>(m.byte_rate(), now);
                       m.conns[e.conn] = std::move(conn);
                       return {};
                     },
                     [&](const Received& e) { return m.on_received(e, now); },
                     [&](const FramesReceived& e) { return m.on_frames(e, now); },
                     [&](const Disconnected& e) { return m.on_disconnected(e.conn, now); },
                     [&](const Completed& e) { return m.on_completed(e, now); },
                     [&](const TimerFired& e) { return m.on_timer(e.id, now); },
                     [&](const ShutdownStarted& e) { return m.on_shutdown(e.retry_after_s); },
                 },
                 event);
  if (!m.bound_changes.empty()) {
    out.insert(out.begin(), std::make_move_iterator(m.bound_changes.begin()),
               std::make_move_iterator(m.bound_changes.end()));
    m.bound_changes.clear();
  }
  return out;
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.connections = impl_->conns.size();
  s.workspaces = impl_->workspaces.size();
  for (const auto& [id, ws] : impl_->workspaces) {
    s.attendees += ws.members.size();
    for (const auto& [aid, mem] : ws.members) s.online_attendees += mem.conn ? 1 : 0;
    s.calls += ws.call ? 1 : 0;
  }
  s.expired_workspaces = impl_->expired_workspaces;
  s.messages_rate_limited = impl_->messages_rate_limited;
  s.bytes_rate_limited = impl_->bytes_rate_limited;
  s.rate_limit_closes = impl_->rate_limit_closes;
  s.workspaces_rate_limited = impl_->workspaces_rate_limited;
  s.pin_hashes_in_flight = impl_->hashes_in_flight;
  s.pin_tracked_entries = impl_->pin_attempts.size() + impl_->pin_guards.size();
  for (const auto& [wid, g] : impl_->pin_guards) {
    s.pin_workspaces_slow_lane += g.slow ? 1 : 0;
    s.pin_tracked_entries += g.failed.size();
  }
  s.pin_checks_refused_busy = impl_->pin_checks_refused_busy;
  s.pin_checks_refused_workspace = impl_->pin_checks_refused_workspace;
  return s;
}

// ---------------- dispatch ----------------

Effects Engine::Impl::on_frames(const FramesReceived& f, TimePoint now) {
  auto cit = conns.find(f.conn);
  if (cit == conns.end()) return {};
  // Nothing to refuse (the frames are already answered or joined): a refused batch gets one
  // alert without `event`, and a run of refusals closes 1008 like one of messages.
  // The frames were received and parsed whatever the verdict, so a refused batch is still
  // owed (the buckets go into debt, at most one burst): else a message whose frames arrived in
  // earlier reads, reported in a refused batch, would pass at the cost of its last read alone.
  Effects out;
  Conn& conn = cit->second;
  if (!take_message_token(conn, ReplyTo{f.conn, nullptr, nullptr, {}}, f.frames, f.bytes, now,
                          out)) {
    conn.bucket.frames.owe(message_rate(), static_cast<double>(f.frames));
    conn.bucket.bytes.owe(byte_rate(), static_cast<double>(f.bytes));
  }
  return out;
}

Effects Engine::Impl::on_received(const Received& r, TimePoint now) {
  const ConnId conn_id = r.conn;
  const Request& req = r.request;
  auto cit = conns.find(conn_id);
  if (cit == conns.end()) return {};  // already disconnected
  Conn& conn = cit->second;
  ReplyTo to{conn_id, req.id, req.nonce, req.event_name};

  // Every frame counts against the connection's rates, bad ones too (PROTOCOL.md §10).
  if (Effects out; !take_message_token(conn, to, r.frames, r.bytes, now, out)) return out;

  // Frame and field errors count as bad frames (PROTOCOL.md §2); auth failures do not.
  auto bad_frame = [&](const Error& e) {
    Effects out = alert(to, e);
    count_bad_frame(conn_id, now, out);
    return out;
  };

  if (req.frame_error || !req.event) {
    return bad_frame(req.frame_error ? *req.frame_error
                                     : Error{ErrorCode::kBadRequest, "missing event", "", 0});
  }
  const ClientEvent event = *req.event;

  if (event == ClientEvent::kCreate) {
    if (conn.bound && workspaces.count(conn.bound->wid)) {
      return alert(to, ErrorCode::kConflict, "this connection is already a workspace member");
    }
    if (!req.payload) return bad_frame(req.payload.error());
    const auto& pin = std::get<CreateReq>(*req.payload).workspace_pin;
    if (pin && !pin->empty() && !hash_slot_open(conn.key)) {
      ++pin_checks_refused_busy;
      return hash_busy(to);  // before the allowance: a refused create does not count
    }
    if (Effects out; !take_create_allowance(conn.key, to, now, out)) return out;
    return create(to, std::get<CreateReq>(*req.payload), now);
  }
  if (event == ClientEvent::kAttend) {
    Effects out = attend(to, req, now);
    return out;
  }
  if (event == ClientEvent::kIceServers && opt.development) {
    if (!req.payload) return bad_frame(req.payload.error());
    std::optional<AttendeeId> who;
    if (req.access_token) {
      if (auto claims = tokens.verify_access(*req.access_token, unix_s(now))) who = claims->aid;
    }
    return ice_servers(to, who);
  }

  // Authenticated requests: token present -> valid -> not expired -> not revoked ->
  // workspace exists -> bound member -> role -> fields -> targets (PROTOCOL.md §2).
  if (!req.access_token && !req.access_token_invalid_type) {
    return alert(to, ErrorCode::kTokenMissing, "data.accessToken is required");
  }
  if (req.access_token_invalid_type) {
    return alert(to, ErrorCode::kTokenInvalid, "data.accessToken must be a string");
  }
  Result<AccessClaims> claims = verify_access(conn, *req.access_token, now);
  if (!claims) return alert(to, claims.error());
  auto wit = workspaces.find(claims->wid);
  if (wit == workspaces.end()) return destroyed_reply(to, claims->wid);
  Workspace& ws = wit->second;
  // Neither a member nor a former member: kicked, or forgotten (docs/protocol.md §11).
  if (!ws.member(claims->aid) && !ws.former.contains(claims->aid)) {
    return alert(to, ErrorCode::kTokenRevoked, "this attendee was removed from the workspace");
  }
  if (event == ClientEvent::kReAttend) {
    if (conn.bound && workspaces.count(conn.bound->wid) &&
        !(conn.bound->wid == claims->wid && conn.bound->aid == claims->aid)) {
      return alert(to, ErrorCode::kConflict, "this connection is already another member");
    }
    if (!req.payload) return bad_frame(req.payload.error());
    return re_attend(to, ws, *claims, *req.access_token, now);
  }
  Member* self = ws.member(claims->aid);
  if (!self) {
    return alert(to, ErrorCode::kForbidden, "not a member of this workspace: re-attend first");
  }
  if (!conn.bound || !(conn.bound->wid == claims->wid && conn.bound->aid == claims->aid) ||
      self->conn != conn_id) {
    return alert(to, ErrorCode::kForbidden,
                 "this connection is not bound to the token's attendee: re-attend first");
  }
  if (is_owner_only(event) && ws.owner != claims->aid) {
    return alert(to, ErrorCode::kForbidden, "only the workspace owner may do this");
  }
  if (!req.payload) return bad_frame(req.payload.error());
  Caller caller{to, &ws, *claims, self};
  return dispatch_member(caller, req, now);
}

Result<AccessClaims> Engine::Impl::verify_access(Conn& conn, const std::string& token,
                                                 TimePoint now) {
  if (!conn.verified_token.empty() && conn.verified_token == token) {
    if (conn.verified_claims.exp <= unix_s(now)) {
      return fail(ErrorCode::kTokenExpired, "access token has expired");
    }
    return conn.verified_claims;
  }
  Result<AccessClaims> claims = tokens.verify_access(token, unix_s(now));
  if (claims) {
    conn.verified_token = token;
    conn.verified_claims = *claims;
  }
  return claims;
}

Effects Engine::Impl::dispatch_member(Caller& c, const Request& req, TimePoint now) {
  return std::visit(
      Overloaded{
          [&](const IceServersReq&) { return ice_servers(c.to, c.claims.aid); },
          [&](const LeaveReq&) { return leave(c, now); },
          [&](const DestroyReq&) { return destroy(c, now); },
          [&](const KickReq& r) { return kick(c, r, now); },
          [&](const RingReq& r) { return ring(c, r, now); },
          [&](const AnswerReq& r) { return answer(c, r, now); },
          [&](const BusyReq& r) { return busy(c, r, now); },
          [&](const HangupReq& r) { return hangup(c, r, now); },
          [&](const IceCandidateReq& r) { return ice_candidate(c, r); },
          [&](const NegotiationReq& r) { return negotiation(c, r); },
          [&](const ToggleReq& r) { return toggle(c, *req.event == ClientEvent::kMicToggle, r); },
          [&](const AttendeesReq&) { return list_attendees(c); },
          [&](const RefreshReq&) { return refresh(c, now); },
          [&](const auto&) { return alert(c.to, ErrorCode::kInternal, "request not handled"); },
      },
      *req.payload);
}

Effects Engine::Impl::on_disconnected(ConnId conn_id, TimePoint now) {
  Effects out;
  auto cit = conns.find(conn_id);
  if (cit == conns.end()) return out;
  std::optional<Binding> bound = cit->second.bound;
  conns.erase(cit);
  if (!bound) return out;
  auto wit = workspaces.find(bound->wid);
  if (wit == workspaces.end()) return out;
  Workspace& ws = wit->second;
  Member* mem = ws.member(bound->aid);
  if (!mem || mem->conn != conn_id) return out;
  mem->conn.reset();
  log(out, LogLevel::kInfo, "attendee.offline",
      {{"workspace", ws.id.value}, {"attendee", bound->aid.value}});
  update_idle(ws, now, out);
  // PROTOCOL.md §4.2: stays a member, offline, for the reconnect grace period.
  if (opt.reconnect_grace.count() == 0) {
    Effects more = grace_expired(ws, bound->aid, now);
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
    return out;
  }
  mem->grace_timer =
      arm(out, TimerInfo{TimerInfo::Kind::kGrace, ws.id, bound->aid}, now + opt.reconnect_grace);
  return out;
}

Effects Engine::Impl::on_completed(const Completed& c, TimePoint now) {
  auto pit = pending.find(c.request);
  if (pit == pending.end()) return {};
  Pending p = std::move(pit->second);
  pending.erase(pit);
  // A hash that ended frees its address's slot after the reply, so the request waiting behind
  // it sees the outcome (a failure, a member bound) and is checked afresh (docs/protocol.md §11).
  auto then_release = [&](const std::string& key, Effects out) {
    release_hash_slot(key, now, out);
    return out;
  };
  return std::visit(
      Overloaded{
          [&](PendingCreate& pc) -> Effects {
            const auto* r = std::get_if<PinHashed>(&c.result);
            if (!pc.hashing) return {};
            return then_release(pc.key, r ? finish_create(pc, r->hash, now) : Effects{});
          },
          [&](PendingAttend& pa) -> Effects {
            const auto* r = std::get_if<PinVerified>(&c.result);
            if (!pa.pin_checked) return {};
            return then_release(pa.key, finish_attend(pa, r && r->match, now));
          },
          [&](PendingIce& pi) -> Effects {
            const auto* r = std::get_if<IceFetched>(&c.result);
            if (!r || !conns.count(pi.to.conn)) return {};
            if (!r->servers) {
              return alert(pi.to, ErrorCode::kUnavailable, "no ICE servers available right now");
            }
            // The reply is a bare array (as in the original), so it carries no nonce.
            return {
                Send{pi.to.conn, ServerMessage{ServerEvent::kIceServers, *r->servers, pi.to.id}}};
          },
      },
      p);
}

Effects Engine::Impl::on_timer(TimerId id, TimePoint now) {
  auto tit = timers.find(id);
  if (tit == timers.end()) return {};
  TimerInfo info = tit->second;
  timers.erase(tit);
  auto wit = workspaces.find(info.wid);
  if (wit == workspaces.end()) return {};
  Workspace& ws = wit->second;
  if (info.kind == TimerInfo::Kind::kPinSlowLane) return slow_lane_check(ws.id, id, now);
  if (info.kind == TimerInfo::Kind::kIdle) {
    if (ws.idle_timer != id) return {};
    ws.idle_timer.reset();
    return idle_expired(ws, now);
  }
  if (info.kind == TimerInfo::Kind::kGrace) {
    Member* mem = ws.member(info.aid);
    if (!mem || mem->conn || mem->grace_timer != id) return {};
    mem->grace_timer.reset();
    return grace_expired(ws, info.aid, now);
  }
  if (!ws.call) return {};
  auto rit = ws.call->rings.find(info.aid);
  if (rit == ws.call->rings.end() || rit->second != id) return {};
  return ring_timed_out(ws, info.aid, now);
}

Effects Engine::Impl::on_shutdown(int retry_after_s) {
  Effects out;
  std::vector<ConnId> all;
  all.reserve(conns.size());
  for (const auto& [id, c] : conns) all.push_back(id);
  push(out, std::move(all), ServerEvent::kServerShutdown,
       {{"retryAfter", std::max(1, retry_after_s)}});
  log(out, LogLevel::kInfo, "server.draining", {{"connections", std::to_string(conns.size())}});
  return out;
}

// ---------------- limits ----------------

bool Engine::Impl::take_message_token(Conn& conn, const ReplyTo& to, std::uint32_t frames,
                                      std::uint64_t bytes, TimePoint now, Effects& out) {
  MessageBucket& b = conn.bucket;
  const TokenRate frame_rate = message_rate();
  const TokenRate bytes_rate = byte_rate();
  const auto n_frames = static_cast<double>(frames);
  const auto n_bytes = static_cast<double>(bytes);
  b.frames.refill(frame_rate, now);
  b.bytes.refill(bytes_rate, now);
  const bool frames_ok = b.frames.can_take(frame_rate, n_frames);
  const bool bytes_ok = b.bytes.can_take(bytes_rate, n_bytes);
  if (frames_ok && bytes_ok) {
    b.frames.take(n_frames);
    b.bytes.take(n_bytes);
    return true;
  }
  ++messages_rate_limited;
  if (!bytes_ok) ++bytes_rate_limited;
  // A run of refusals ends after a second without one.
  if (!b.refused_since || now - b.last_refused >= std::chrono::seconds(1)) b.refused_since = now;
  b.last_refused = now;
  if (now - *b.refused_since >= opt.rate_limit_close_after) {
    ++rate_limit_closes;
    out.push_back(Close{to.conn, CloseCode::kPolicy, "message rate limit exceeded"});
    log(out, LogLevel::kInfo, "connection.rate_limited",
        {{"conn", std::to_string(to.conn.value)}, {"peer", conn.ip}});
    return false;
  }
  Error e{ErrorCode::kRateLimited,
          bytes_ok ? "too many messages, slow down" : "too many bytes, slow down", "", 0};
  e.retry_after = retry_after_seconds(std::chrono::duration<double>(std::max(
      b.frames.seconds_until(frame_rate, n_frames), b.bytes.seconds_until(bytes_rate, n_bytes))));
  out = alert(to, e);
  return false;
}

bool Engine::Impl::take_create_allowance(const std::string& key, const ReplyTo& to, TimePoint now,
                                         Effects& out) {
  constexpr auto kHour = std::chrono::hours(1);
  if (++creates % 1024 == 0) prune_creates(now);
  auto& times = creates_by_ip[key];
  std::erase_if(times, [&](TimePoint t) { return t <= now - kHour; });
  if (static_cast<int>(times.size()) < opt.workspaces_per_ip_per_hour) {
    times.push_back(now);
    return true;
  }
  ++workspaces_rate_limited;
  Error e{ErrorCode::kRateLimited, "too many workspaces created from this address, try later", "",
          0};
  e.retry_after = retry_after_seconds(times.front() + kHour - now);
  out = alert(to, e);
  log(out, LogLevel::kDebug, "workspace.create_limited", {{"peer", key}});
  return false;
}

void Engine::Impl::prune_creates(TimePoint now) {
  std::erase_if(creates_by_ip, [&](const auto& entry) {
    return entry.second.empty() || entry.second.back() <= now - std::chrono::hours(1);
  });
}

// ---------------- helpers ----------------

void Engine::Impl::count_bad_frame(ConnId conn_id, TimePoint now, Effects& out) {
  auto cit = conns.find(conn_id);
  if (cit == conns.end()) return;
  auto& frames = cit->second.bad_frames;
  // A vector, not a deque: an empty one costs nothing, and most connections never send a bad
  // frame (a deque allocates on construction).
  std::erase_if(frames, [&](TimePoint t) { return t <= now - opt.bad_frame_window; });
  frames.push_back(now);
  if (static_cast<int>(frames.size()) > opt.max_bad_frames) {
    out.push_back(Close{conn_id, CloseCode::kPolicy, "too many bad frames"});
    log(out, LogLevel::kInfo, "connection.bad_frames", {{"conn", std::to_string(conn_id.value)}});
  }
}

Effects Engine::Impl::alert(const ReplyTo& to, const Error& e) const {
  return {Send{to.conn, views::alert(e, to.event, to.nonce, to.id)}};
}

Effects Engine::Impl::alert(const ReplyTo& to, ErrorCode code, std::string message,
                            std::string field) const {
  return alert(to, Error{code, std::move(message), std::move(field), 0});
}

ServerMessage Engine::Impl::reply(const ReplyTo& to, ServerEvent ev, json::object data) const {
  if (!to.nonce.is_null()) data["nonce"] = to.nonce;
  return ServerMessage{ev, std::move(data), to.id};
}

void Engine::Impl::ok(const ReplyTo& to, Effects& out) const {
  if (to.id.is_null()) return;
  out.push_back(Send{to.conn, reply(to, ServerEvent::kOk, {{"event", to.event}})});
}

Effects Engine::Impl::destroyed_reply(const ReplyTo& to, const WorkspaceId& wid) const {
  return {Send{to.conn,
               reply(to, ServerEvent::kDestroyed, {{"workspace", views::id_only(wid.value)}})}};
}

Effects Engine::Impl::full(const ReplyTo& to, const Workspace& ws) const {
  return {Send{to.conn,
               reply(to, ServerEvent::kFull,
                     {{"workspace", views::id_only(ws.id.value)}, {"capacity", opt.max_capacity}})},
          Close{to.conn, CloseCode::kFull, "workspace full"}};
}

std::vector<ConnId> Engine::Impl::online(const Workspace& ws, const AttendeeId* except) const {
  std::vector<ConnId> out;
  for (const auto& aid : ws.join_order) {
    if (except && aid == *except) continue;
    const Member& m = ws.members.at(aid);
    if (m.conn) out.push_back(*m.conn);
  }
  return out;
}

void Engine::Impl::push(Effects& out, std::vector<ConnId> to, ServerEvent ev,
                        json::object data) const {
  if (to.empty()) return;
  if (to.size() == 1) {
    out.push_back(Send{to.front(), ServerMessage{ev, std::move(data), nullptr}});
    return;
  }
  out.push_back(Broadcast{std::move(to), ServerMessage{ev, std::move(data), nullptr}});
}

void Engine::Impl::push_to(Effects& out, const Workspace& ws, const AttendeeId& aid, ServerEvent ev,
                           json::object data) const {
  auto it = ws.members.find(aid);
  // Messages to an offline member within the grace period are dropped (PROTOCOL.md §4.2).
  if (it == ws.members.end() || !it->second.conn) return;
  out.push_back(Send{*it->second.conn, ServerMessage{ev, std::move(data), nullptr}});
}

std::string Engine::Impl::new_id() {
  return "_" + random.alnum(opt.id_length);
}

std::string Engine::Impl::issue_access(const Workspace& ws, const AttendeeId& aid, TimePoint now) {
  AccessClaims claims{ws.id,
                      aid,
                      aid == ws.owner,
                      unix_s(now),
                      unix_s(now) + opt.access_token_ttl.count(),
                      random.alnum(16)};
  return tokens.sign_access(claims);
}

TimerId Engine::Impl::arm(Effects& out, TimerInfo info, TimePoint at) {
  TimerId id{next_timer++};
  timers.emplace(id, std::move(info));
  out.push_back(ArmTimer{id, at});
  return id;
}

void Engine::Impl::cancel(Effects& out, std::optional<TimerId>& id) {
  if (!id) return;
  timers.erase(*id);
  out.push_back(CancelTimer{*id});
  id.reset();
}

void Engine::Impl::persist(Effects& out, Change change) const {
  if (opt.durable) out.push_back(Persist{std::move(change)});
}

void Engine::Impl::persist_call(Effects& out, const Workspace& ws) const {
  persist(out, CallChanged{ws.id, ws.call ? std::optional(ws.call->rec) : std::nullopt});
}

void Engine::Impl::persist_idle(Effects& out, const Workspace& ws) const {
  persist(out, IdleChanged{ws.id, ws.idle_since_ms});
}

void Engine::Impl::update_idle(Workspace& ws, TimePoint now, Effects& out) {
  if (track_idle(ws, now, out)) persist_idle(out, ws);
}

void Engine::Impl::retire_member(Workspace& ws, const AttendeeId& aid, TimePoint now,
                                 Effects& out) {
  auto it = ws.members.find(aid);
  if (it == ws.members.end()) return;
  FormerRecord former{aid, it->second.rec.name, unix_ms(now)};
  ws.members.erase(it);
  std::erase(ws.join_order, aid);
  ws.former.add(former);
  persist(out, MemberLeft{ws.id, std::move(former)});
  prune_former(ws, now, out);
}

void Engine::Impl::prune_former(Workspace& ws, TimePoint now, Effects& out) {
  const std::int64_t ttl_ms = std::chrono::milliseconds(opt.access_token_ttl).count();
  // Oldest first: the list is in leaving order, so the expired ones are at its front. A token
  // issued while a member expires at most access_token_ttl after it left (iat <= left).
  while (!ws.former.empty() && ws.former.begin()->left_ms + ttl_ms <= unix_ms(now)) {
    const AttendeeId aid = ws.former.begin()->id;
    ws.former.erase(aid);
    persist(out, AttendeeForgotten{ws.id, aid});
  }
  while (ws.former.size() > opt.max_former) {
    auto oldest = std::find_if(ws.former.begin(), ws.former.end(),
                               [&](const FormerRecord& f) { return f.id != ws.owner; });
    if (oldest == ws.former.end()) break;
    const AttendeeId aid = oldest->id;
    ws.former.erase(aid);
    persist(out, AttendeeForgotten{ws.id, aid});
  }
}

json::object Engine::Impl::attendees_map(const Workspace& ws) const {
  json::object map;
  for (const auto& aid : ws.join_order) {
    const Member& m = ws.members.at(aid);
    map[aid.value] = views::attendee(m.rec, m.conn.has_value());
  }
  return map;
}

json::object Engine::Impl::granted_data(const Workspace& ws, const AttendeeId& self,
                                        const std::string& access) const {
  json::object w{{"id", ws.id.value},       {"name", ws.name},          {"avatar", ws.avatar},
                 {"owner", ws.owner.value}, {"created", ws.created_ms}, {"token", ws.invite}};
  w["call"] = ws.call ? json::value(views::call(ws.call->rec)) : json::value(nullptr);
  const Member& m = ws.members.at(self);
  return {{"workspace", std::move(w)},
          {"attendee", views::attendee(m.rec, m.conn.has_value())},
          {"attendees", attendees_map(ws)},
          {"accessToken", access}};
}

Member& Engine::Impl::bind_member(Workspace& ws, AttendeeRecord rec, ConnId conn) {
  const AttendeeId aid = rec.id;
  ws.former.erase(aid);
  auto [it, inserted] = ws.members.try_emplace(aid, Member{std::move(rec), conn, std::nullopt});
  if (inserted) ws.join_order.push_back(aid);
  it->second.conn = conn;
  Conn& c = conns[conn];
  if (!c.bound) bound_changes.push_back(Bound{conn, true});
  c.bound = Binding{ws.id, aid};
  return it->second;
}

void Engine::Impl::unbind(ConnId conn) {
  auto it = conns.find(conn);
  if (it == conns.end() || !it->second.bound) return;
  it->second.bound.reset();
  bound_changes.push_back(Bound{conn, false});
}

void Engine::Impl::log(Effects& out, LogLevel level, std::string event,
                       std::vector<std::pair<std::string, std::string>> fields) const {
  out.push_back(Log{level, std::move(event), std::move(fields)});
}

}  // namespace ws::core
