// Workspace lifecycle handlers: create, attend, re-attend, leave, destroy, kick, toggles,
// attendees, refresh, grace expiry (PROTOCOL.md §4, §4.2).
#include <algorithm>

#include "core/engine_impl.hpp"

namespace ws::core {

namespace {

std::string or_default(const std::optional<std::string>& v, const std::string& fallback) {
  return v && !v->empty() ? *v : fallback;
}

}  // namespace

Effects Engine::Impl::create(const ReplyTo& to, const CreateReq& req, TimePoint now) {
  // An empty PIN means no PIN (docs/protocol.md).
  if (req.workspace_pin && !req.workspace_pin->empty()) {
    // One hash at a time per address, like PIN checks (docs/protocol.md §11); on_received
    // made sure the slot is free or has room behind it.
    const std::string& key = conns.at(to.conn).key;
    RequestId rid{next_request++};
    auto& p =
        std::get<PendingCreate>(pending.emplace(rid, PendingCreate{to, req, key}).first->second);
    if (take_hash_slot(key, rid) != HashSlot::kGranted) return {};  // waits behind its address
    p.hashing = true;
    Effects out;
    submit_hash(key, HashPin{rid, *req.workspace_pin}, now, out);
    return out;
  }
  return finish_create(PendingCreate{to, req, {}}, std::string{}, now);
}

Effects Engine::Impl::finish_create(const PendingCreate& p, Result<std::string> hash,
                                    TimePoint now) {
  auto cit = conns.find(p.to.conn);
  if (cit == conns.end()) return {};  // the client went away meanwhile
  if (!hash) return alert(p.to, ErrorCode::kInternal, "could not protect the PIN");
  if (cit->second.bound && workspaces.count(cit->second.bound->wid)) {
    return alert(p.to, ErrorCode::kConflict, "this connection is already a workspace member");
  }
  const CreateReq& req = p.req;
  WorkspaceId wid{new_id()};
  while (workspaces.count(wid)) wid = WorkspaceId{new_id()};
  AttendeeId owner{new_id()};

  Workspace ws;
  ws.id = wid;
  ws.name = or_default(req.workspace_name, opt.untitled_workspace);
  ws.avatar = or_default(req.workspace_avatar, opt.default_workspace_avatar);
  ws.owner = owner;
  ws.created_ms = unix_ms(now);
  ws.pin_hash = std::move(*hash);
  ws.invite = tokens.sign_invite(InviteClaims{wid, unix_s(now)});
  Workspace& stored = workspaces.emplace(wid, std::move(ws)).first->second;
  AttendeeRecord rec{owner, or_default(req.attendee_name, opt.anonymous_attendee),
                     or_default(req.attendee_avatar, opt.default_attendee_avatar), true, true};
  Member& me = bind_member(stored, std::move(rec), p.to.conn);

  Effects out;
  persist(out, WorkspacePut{stored.record()});
  json::object w{{"id", wid.value},      {"name", stored.name},          {"avatar", stored.avatar},
                 {"owner", owner.value}, {"created", stored.created_ms}, {"token", stored.invite}};
  out.push_back(Send{p.to.conn, reply(p.to, ServerEvent::kCreated,
                                      {{"workspace", std::move(w)},
                                       {"attendee", views::attendee(me.rec, true)},
                                       {"accessToken", issue_access(stored, owner, now)}})});
  log(out, LogLevel::kInfo, "workspace.created",
      {{"workspace", wid.value},
       {"owner", owner.value},
       {"pin", stored.pin_hash.empty() ? "no" : "yes"}});
  return out;
}

Effects Engine::Impl::attend(const ReplyTo& to, const Request& req, TimePoint now) {
  // Order of checks (PROTOCOL.md §2) with the invite as the token.
  if (!req.invite_token && !req.invite_token_invalid_type) {
    return alert(to, ErrorCode::kTokenMissing, "data.workspace.token is required");
  }
  if (req.invite_token_invalid_type) {
    return alert(to, ErrorCode::kTokenInvalid, "data.workspace.token must be a string");
  }
  auto invite = tokens.verify_invite(*req.invite_token);
  if (!invite) return alert(to, invite.error());
  auto wit = workspaces.find(invite->wid);
  if (wit == workspaces.end()) return destroyed_reply(to, invite->wid);
  Workspace& ws = wit->second;
  Conn& conn = conns.at(to.conn);
  if (conn.bound && workspaces.count(conn.bound->wid)) {
    return alert(to, ErrorCode::kConflict, "this connection is already a workspace member");
  }
  if (!req.payload) {
    // A field error counts as a bad frame, as for every other event (docs/protocol.md §11).
    Effects out = alert(to, req.payload.error());
    count_bad_frame(to.conn, now, out);
    return out;
  }
  const auto& body = std::get<AttendReq>(*req.payload);
  if (ws.members.size() >= opt.max_capacity) {
    return full(to, ws);
  }
  if (ws.pin_hash.empty())
    return finish_attend(PendingAttend{to, ws.id, body, conn.key, false}, true, now);

  // Wrong PINs are limited per client address key and workspace (PROTOCOL.md §3, §10).
  prune_pin_attempts(now);
  RequestId rid{next_request++};
  pending.emplace(rid, PendingAttend{to, ws.id, body, conn.key, false});
  return check_pin(rid, ws, now);
}

// The order of the PIN rules (docs/protocol.md §11): the address's failures on this workspace,
// the workspace's slow lane, a missing PIN, then a hash slot. An attend queued behind its
// address's check in flight comes back here when that check ends, so every rule is applied
// again with the failures that check added: parallel guesses cannot pass a limit.
Effects Engine::Impl::check_pin(RequestId rid, const Workspace& ws, TimePoint now) {
  auto node = pending.extract(rid);
  auto& p = std::get<PendingAttend>(node.mapped());
  auto refuse = [&](std::string message, std::chrono::duration<double> wait) {
    Error e{ErrorCode::kRateLimited, std::move(message), "", retry_after_seconds(wait)};
    return alert(p.to, e);
  };
  // Looked up, not made: a refused or right PIN leaves no entry behind.
  if (auto ait = pin_attempts.find({p.key, ws.id}); ait != pin_attempts.end()) {
    auto& failures = ait->second.failures;
    while (!failures.empty() && failures.front() <= now - opt.pin_failure_window) {
      failures.pop_front();
    }
    if (static_cast<int>(failures.size()) >= opt.pin_max_failures) {
      return refuse("too many wrong PINs, try again later",
                    failures.front() + opt.pin_failure_window - now);
    }
  }
  PinGuard* lane = nullptr;
  if (auto git = pin_guards.find(ws.id); git != pin_guards.end() && git->second.slow) {
    PinGuard& g = git->second;
    auto fit = g.failed.find(p.key);
    if (fit != g.failed.end() && fit->second > now - opt.pin_workspace_window) {
      ++pin_checks_refused_workspace;
      return refuse("too many wrong PINs on this workspace, try again later",
                    fit->second + opt.pin_workspace_window - now);
    }
    if (g.lane_busy || now < g.lane_next) {
      ++pin_checks_refused_workspace;
      return refuse("this workspace takes one PIN check at a time now, try again shortly",
                    g.lane_busy ? std::chrono::duration<double>(opt.pin_slow_lane_interval)
                                : std::chrono::duration<double>(g.lane_next - now));
    }
    lane = &g;
  }
  if (!p.req.pin || p.req.pin->empty()) {
    Effects out = alert(p.to, ErrorCode::kPinInvalid, "this workspace needs a PIN");
    if (lane) lane->lane_next = now + opt.pin_slow_lane_interval;
    record_pin_failure(p.key, ws.id, now, out);
    return out;
  }
  switch (take_hash_slot(p.key, rid)) {
    case HashSlot::kRefused:
      return hash_busy(p.to);
    case HashSlot::kQueued:
      pending.insert(std::move(node));
      return {};
    case HashSlot::kGranted:
      break;
  }
  ++pin_attempts[{p.key, ws.id}].checking;
  p.pin_checked = true;
  if (lane) {
    lane->lane_busy = true;
    lane->lane_next = now + opt.pin_slow_lane_interval;
    p.slow_lane = true;
  }
  Effects out;
  submit_hash(p.key, VerifyPin{rid, *p.req.pin, ws.pin_hash}, now, out);
  pending.insert(std::move(node));
  return out;
}

void Engine::Impl::prune_pin_attempts(TimePoint now) {
  // Forget old failures now and then, so the maps stay as small as the recent attempts.
  if (++pin_checks % 256 != 0) return;
  for (auto it = pin_attempts.begin(); it != pin_attempts.end();) {
    auto& q = it->second.failures;
    while (!q.empty() && q.front() <= now - opt.pin_failure_window) q.pop_front();
    it = it->second.idle() ? pin_attempts.erase(it) : std::next(it);
  }
  prune_pin_guards(now);
}

Effects Engine::Impl::finish_attend(const PendingAttend& p, bool match, TimePoint now) {
  Effects started;  // logged effects of the failure accounting (the slow lane's start)
  if (p.pin_checked) {
    // The check ended: a wrong PIN becomes a failure (a right one is none). The caller frees
    // the hash slot afterwards, so a request waiting behind it sees this failure.
    if (auto ait = pin_attempts.find({p.key, p.wid}); ait != pin_attempts.end()) {
      --ait->second.checking;
      if (match && ait->second.idle()) pin_attempts.erase(ait);
    }
    if (p.slow_lane) {
      if (auto git = pin_guards.find(p.wid); git != pin_guards.end()) git->second.lane_busy = false;
    }
    if (!match && workspaces.count(p.wid)) record_pin_failure(p.key, p.wid, now, started);
  }
  auto with_started = [&](Effects out) {
    out.insert(out.end(), std::make_move_iterator(started.begin()),
               std::make_move_iterator(started.end()));
    return out;
  };
  auto cit = conns.find(p.to.conn);
  if (cit == conns.end()) return started;
  auto wit = workspaces.find(p.wid);
  if (wit == workspaces.end()) return with_started(destroyed_reply(p.to, p.wid));
  Workspace& ws = wit->second;
  if (!match) return with_started(alert(p.to, ErrorCode::kPinInvalid, "wrong PIN"));
  // State may have changed while the PIN was checked: check again.
  if (cit->second.bound && workspaces.count(cit->second.bound->wid)) {
    return with_started(
        alert(p.to, ErrorCode::kConflict, "this connection is already a workspace member"));
  }
  if (ws.members.size() >= opt.max_capacity) {
    return with_started(full(p.to, ws));
  }
  AttendeeRecord rec{AttendeeId{new_id()}, or_default(p.req.attendee_name, opt.anonymous_attendee),
                     or_default(p.req.attendee_avatar, opt.default_attendee_avatar), true, true};
  Member& me = bind_member(ws, std::move(rec), p.to.conn);
  const AttendeeId aid = me.rec.id;

  Effects out;
  persist(out, MemberPut{ws.id, me.rec});
  update_idle(ws, now, out);
  out.push_back(Send{p.to.conn, reply(p.to, ServerEvent::kAttendanceGranted,
                                      granted_data(ws, aid, issue_access(ws, aid, now)))});
  push(out, online(ws, &aid), ServerEvent::kAttend, views::attendee(me.rec, true));
  log(out, LogLevel::kInfo, "attendee.joined",
      {{"workspace", ws.id.value}, {"attendee", aid.value}});
  return with_started(std::move(out));
}

Effects Engine::Impl::re_attend(const ReplyTo& to, Workspace& ws, const AccessClaims& claims,
                                const std::string& token, TimePoint now) {
  Effects out;
  const AttendeeId& aid = claims.aid;
  if (Member* mem = ws.member(aid)) {
    // Still a member: restore silently (PROTOCOL.md §4.2); a newer connection replaces an
    // older one (close 4002).
    if (mem->conn && *mem->conn != to.conn) {
      ConnId old = *mem->conn;
      unbind(old);
      out.push_back(Send{
          old,
          ServerMessage{ServerEvent::kReplaced,
                        json::object{{"reason", "re-attended from another connection"}}, nullptr}});
      out.push_back(Close{old, CloseCode::kReplaced, "replaced"});
    }
    cancel(out, mem->grace_timer);
    bind_member(ws, mem->rec, to.conn);
    update_idle(ws, now, out);
    out.push_back(
        Send{to.conn, reply(to, ServerEvent::kReAttendanceGranted, granted_data(ws, aid, token))});
    log(out, LogLevel::kInfo, "attendee.resumed",
        {{"workspace", ws.id.value}, {"attendee", aid.value}});
    return out;
  }
  // Re-joining after leave or grace expiry: capacity applies, the others get `attend`.
  if (ws.members.size() >= opt.max_capacity) {
    return full(to, ws);
  }
  // A former member (the authentication step refused anyone else): its name is kept, its
  // avatar is not (docs/protocol.md §11).
  const FormerRecord* former = ws.former.find(aid);
  AttendeeRecord rec{aid, former ? former->name : opt.anonymous_attendee,
                     opt.default_attendee_avatar, true, true};
  Member& me = bind_member(ws, std::move(rec), to.conn);
  persist(out, MemberPut{ws.id, me.rec});
  update_idle(ws, now, out);
  out.push_back(
      Send{to.conn, reply(to, ServerEvent::kReAttendanceGranted, granted_data(ws, aid, token))});
  push(out, online(ws, &aid), ServerEvent::kAttend, views::attendee(me.rec, true));
  log(out, LogLevel::kInfo, "attendee.rejoined",
      {{"workspace", ws.id.value}, {"attendee", aid.value}});
  return out;
}

Effects Engine::Impl::leave(Caller& c, TimePoint now) {
  Workspace& ws = *c.ws;
  const AttendeeId aid = c.claims.aid;
  Effects out;
  detach_and_persist(ws, aid, out);
  AttendeeRecord rec = c.self->rec;
  cancel(out, c.self->grace_timer);
  retire_member(ws, aid, now, out);
  unbind(c.to.conn);
  update_idle(ws, now, out);
  out.push_back(Send{
      c.to.conn, reply(c.to, ServerEvent::kLeft, {{"workspace", views::id_only(ws.id.value)}})});
  push(out, online(ws), ServerEvent::kLeave, views::brief(rec));
  log(out, LogLevel::kInfo, "attendee.left", {{"workspace", ws.id.value}, {"attendee", aid.value}});
  return out;
}

Effects Engine::Impl::destroy(Caller& c, TimePoint now) {
  Workspace& ws = *c.ws;
  const WorkspaceId wid = ws.id;
  Effects out;
  if (opt.durable) out.push_back(Persist{WorkspaceDeleted{wid}});
  // Every member gets `destroyed`; the owner's copy is the direct reply.
  out.push_back(Send{
      c.to.conn, reply(c.to, ServerEvent::kDestroyed, {{"workspace", views::id_only(wid.value)}})});
  const AttendeeId owner = c.claims.aid;
  push(out, online(ws, &owner), ServerEvent::kDestroyed,
       {{"workspace", views::id_only(wid.value)}});
  for (auto& [aid, mem] : ws.members) {
    if (mem.conn) unbind(*mem.conn);
  }
  drop_workspace(ws, out);
  log(out, LogLevel::kInfo, "workspace.destroyed", {{"workspace", wid.value}});
  (void)now;
  return out;
}

Effects Engine::Impl::kick(Caller& c, const KickReq& req, TimePoint now) {
  Workspace& ws = *c.ws;
  if (req.target == ws.owner) {
    return alert(c.to, ErrorCode::kForbidden, "the owner cannot be kicked");
  }
  Member* target = ws.member(req.target);
  const bool former = ws.former.contains(req.target);
  if (!target && !former)
    return alert(c.to, ErrorCode::kNotFound, "no such attendee", "attendee.id");
  Effects out;
  std::optional<ConnId> target_conn;
  if (target) {
    detach_and_persist(ws, req.target, out);
    target_conn = target->conn;
    cancel(out, target->grace_timer);
    ws.members.erase(req.target);
    std::erase(ws.join_order, req.target);
  }
  // Forgotten is revoked: its tokens now get token_revoked (docs/protocol.md §11).
  ws.former.erase(req.target);
  persist(out, AttendeeForgotten{ws.id, req.target});
  update_idle(ws, now, out);
  json::object data{{"id", req.target.value}};
  out.push_back(Send{c.to.conn, reply(c.to, ServerEvent::kKicked, data)});
  push(out, online(ws, &c.claims.aid), ServerEvent::kKicked, data);
  if (target_conn) {
    unbind(*target_conn);
    out.push_back(Send{*target_conn, ServerMessage{ServerEvent::kKicked, data, nullptr}});
    out.push_back(Close{*target_conn, CloseCode::kKicked, "kicked"});
  }
  log(out, LogLevel::kInfo, "attendee.kicked",
      {{"workspace", ws.id.value}, {"attendee", req.target.value}});
  return out;
}

Effects Engine::Impl::toggle(Caller& c, bool mic, const ToggleReq& req) {
  Workspace& ws = *c.ws;
  (mic ? c.self->rec.mic : c.self->rec.cam) = req.state;
  Effects out;
  persist(out, MemberToggled{ws.id, c.claims.aid, c.self->rec.mic, c.self->rec.cam});
  ok(c.to, out);
  push(out, online(ws, &c.claims.aid), mic ? ServerEvent::kMicToggle : ServerEvent::kCamToggle,
       {{"attendee", views::id_only(c.claims.aid.value)}, {"state", req.state}});
  return out;
}

Effects Engine::Impl::list_attendees(Caller& c) {
  return {
      Send{c.to.conn, reply(c.to, ServerEvent::kAttendees, {{"attendees", attendees_map(*c.ws)}})}};
}

Effects Engine::Impl::refresh(Caller& c, TimePoint now) {
  return {Send{c.to.conn, reply(c.to, ServerEvent::kTokenRefreshed,
                                {{"accessToken", issue_access(*c.ws, c.claims.aid, now)}})}};
}

Effects Engine::Impl::grace_expired(Workspace& ws, const AttendeeId& aid, TimePoint now) {
  Effects out;
  Member* mem = ws.member(aid);
  if (!mem) return out;
  detach_and_persist(ws, aid, out);
  AttendeeRecord rec = mem->rec;
  retire_member(ws, aid, now, out);
  push(out, online(ws), ServerEvent::kLeave, views::brief(rec));
  log(out, LogLevel::kInfo, "attendee.expired",
      {{"workspace", ws.id.value}, {"attendee", aid.value}});
  return out;
}

bool Engine::Impl::track_idle(Workspace& ws, TimePoint now, Effects& out) {
  const bool anyone_online = std::any_of(ws.members.begin(), ws.members.end(),
                                         [](const auto& m) { return m.second.conn.has_value(); });
  if (anyone_online) {
    cancel(out, ws.idle_timer);
    return std::exchange(ws.idle_since_ms, std::nullopt).has_value();
  }
  const bool changed = !ws.idle_since_ms;
  if (changed) ws.idle_since_ms = unix_ms(now);
  if (!ws.idle_timer && opt.idle_ttl.count() > 0) {
    const TimePoint since{std::chrono::milliseconds(*ws.idle_since_ms)};
    ws.idle_timer = arm(out, TimerInfo{TimerInfo::Kind::kIdle, ws.id, {}}, since + opt.idle_ttl);
  }
  return changed;
}

Effects Engine::Impl::idle_expired(Workspace& ws, TimePoint now) {
  Effects out;
  const WorkspaceId wid = ws.id;
  const std::int64_t idle_for_s = (unix_ms(now) - ws.idle_since_ms.value_or(unix_ms(now))) / 1000;
  if (opt.durable) out.push_back(Persist{WorkspaceDeleted{wid}});
  drop_workspace(ws, out);
  ++expired_workspaces;
  log(out, LogLevel::kInfo, "workspace.expired",
      {{"workspace", wid.value}, {"idle_seconds", std::to_string(idle_for_s)}});
  return out;
}

void Engine::Impl::drop_workspace(Workspace& ws, Effects& out) {
  for (auto& [aid, mem] : ws.members) cancel(out, mem.grace_timer);
  if (ws.call) {
    for (auto& [callee, timer] : ws.call->rings) {
      std::optional<TimerId> t = timer;
      cancel(out, t);
    }
  }
  cancel(out, ws.idle_timer);
  const WorkspaceId wid = ws.id;
  // Attends still waiting for a PIN check learn that the workspace is gone.
  drop_waiting_attends(wid, out);
  std::erase_if(pin_attempts, [&](const auto& entry) { return entry.first.second == wid; });
  if (auto git = pin_guards.find(wid); git != pin_guards.end()) {
    cancel(out, git->second.timer);
    pin_guards.erase(git);
  }
  workspaces.erase(wid);
}

}  // namespace ws::core
