// Call handlers: ring, answer, busy, hangup, ring timeouts (PROTOCOL.md §4.1).
#include <algorithm>

#include "core/engine_impl.hpp"

namespace ws::core {

namespace {

json::object busy_data(const Workspace& ws, const AttendeeRecord& callee, std::string_view reason) {
  return {{"workspace", views::id_only(ws.id.value)},
          {"callee", views::brief(callee)},
          {"call", views::id_only(ws.call->rec.id.value)},
          {"reason", reason}};
}

}  // namespace

Effects Engine::Impl::ring(Caller& c, const RingReq& req, TimePoint now) {
  Workspace& ws = *c.ws;
  if (req.callee == c.claims.aid) {
    return alert(c.to, ErrorCode::kBadRequest, "cannot ring yourself", "callee.id");
  }
  if (req.call && ws.call && req.call->value != ws.call->rec.id.value) {
    return alert(c.to, ErrorCode::kNotFound, "no such call", "call.id");
  }
  Member* callee = ws.member(req.callee);
  if (!callee) return alert(c.to, ErrorCode::kNotFound, "callee is not a member", "callee.id");

  Effects out;
  if (!ws.call) {
    // The server assigns the call id; a client-sent one is ignored (PROTOCOL.md §4).
    ws.call = Call{CallRecord{CallId{new_id()}, unix_ms(now), {ws.owner}}, {}};
    persist_call(out, ws);
    log(out, LogLevel::kInfo, "call.started",
        {{"workspace", ws.id.value}, {"call", ws.call->rec.id.value}});
  }
  Call& call = *ws.call;
  const json::object call_ref = views::id_only(call.rec.id.value);
  out.push_back(
      Send{c.to.conn, reply(c.to, ServerEvent::kRinging,
                            {{"call", call_ref}, {"callee", views::id_only(req.callee.value)}})});
  if (!callee->conn) {
    out.push_back(Send{c.to.conn, ServerMessage{ServerEvent::kBusy,
                                                busy_data(ws, callee->rec, "offline"), nullptr}});
    return out;
  }
  if (auto it = call.rings.find(req.callee); it != call.rings.end()) {
    std::optional<TimerId> old = it->second;
    cancel(out, old);
  }
  call.rings[req.callee] =
      arm(out, TimerInfo{TimerInfo::Kind::kRing, ws.id, req.callee}, now + opt.ring_timeout);
  json::object ring{{"workspace", views::id_only(ws.id.value)},
                    {"caller", views::brief(c.self->rec)},
                    {"offer", req.offer},
                    {"call", call_ref}};
  if (!c.to.nonce.is_null()) ring["nonce"] = c.to.nonce;
  out.push_back(Send{*callee->conn, ServerMessage{ServerEvent::kRing, std::move(ring), nullptr}});
  log(out, LogLevel::kDebug, "call.ring",
      {{"workspace", ws.id.value}, {"call", call.rec.id.value}, {"callee", req.callee.value}});
  return out;
}

Effects Engine::Impl::answer(Caller& c, const AnswerReq& req, TimePoint now) {
  Workspace& ws = *c.ws;
  const AttendeeId& self = c.claims.aid;
  if (!ws.call || !ws.call->rings.count(self)) {
    return alert(c.to, ErrorCode::kForbidden, "no pending ring to answer");
  }
  if (req.caller != ws.owner) {
    return alert(c.to, ErrorCode::kForbidden, "no pending ring from that caller", "caller.id");
  }
  if (req.call.value != ws.call->rec.id.value) {
    return alert(c.to, ErrorCode::kNotFound, "no such call", "call.id");
  }
  Effects out;
  Call& call = *ws.call;
  std::optional<TimerId> timer = call.rings[self];
  cancel(out, timer);
  call.rings.erase(self);
  if (!call.has_participant(self)) call.rec.participants.push_back(self);
  persist_call(out, ws);
  ok(c.to, out);
  json::object data{{"workspace", views::id_only(ws.id.value)},
                    {"callee", views::brief(c.self->rec)},
                    {"answer", req.answer},
                    {"call", views::id_only(call.rec.id.value)}};
  if (!c.to.nonce.is_null()) data["nonce"] = c.to.nonce;
  push_to(out, ws, ws.owner, ServerEvent::kAnswer, std::move(data));
  log(out, LogLevel::kDebug, "call.answered",
      {{"workspace", ws.id.value}, {"call", call.rec.id.value}, {"callee", self.value}});
  (void)now;
  return out;
}

Effects Engine::Impl::busy(Caller& c, const BusyReq& req, TimePoint now) {
  Workspace& ws = *c.ws;
  const AttendeeId& self = c.claims.aid;
  if (self == ws.owner) {
    return alert(c.to, ErrorCode::kForbidden, "the owner ends calls with hangup");
  }
  const bool ringing = ws.call && ws.call->rings.count(self);
  const bool participant = ws.call && ws.call->has_participant(self);
  if (!ringing && !participant)
    return alert(c.to, ErrorCode::kForbidden, "not a party to this call");
  if (req.call.value != ws.call->rec.id.value) {
    return alert(c.to, ErrorCode::kNotFound, "no such call", "call.id");
  }
  Effects out;
  if (ringing) {
    std::optional<TimerId> timer = ws.call->rings[self];
    cancel(out, timer);
    ws.call->rings.erase(self);
  }
  if (participant) {
    std::erase(ws.call->rec.participants, self);
    persist_call(out, ws);
  }
  ok(c.to, out);
  push(out, online(ws, &self), ServerEvent::kBusy, busy_data(ws, c.self->rec, "declined"));
  (void)now;
  return out;
}

Effects Engine::Impl::hangup(Caller& c, const HangupReq& req, TimePoint now) {
  Workspace& ws = *c.ws;
  if (!ws.call) {
    return alert(c.to, ErrorCode::kNotFound, "there is no call", req.call ? "call.id" : "");
  }
  if (req.call && req.call->value != ws.call->rec.id.value) {
    return alert(c.to, ErrorCode::kNotFound, "no such call", "call.id");
  }
  Effects out;
  Effects ended;
  end_call(ws, ended);
  persist_call(out, ws);
  ok(c.to, out);
  out.insert(out.end(), std::make_move_iterator(ended.begin()),
             std::make_move_iterator(ended.end()));
  (void)now;
  return out;
}

Effects Engine::Impl::ring_timed_out(Workspace& ws, const AttendeeId& callee, TimePoint now) {
  Effects out;
  Call& call = *ws.call;
  call.rings.erase(callee);
  const Member* m = ws.member(callee);
  if (!m) return out;
  push_to(out, ws, ws.owner, ServerEvent::kBusy, busy_data(ws, m->rec, "timeout"));
  push_to(out, ws, callee, ServerEvent::kRingCancelled,
          {{"workspace", views::id_only(ws.id.value)},
           {"caller", views::id_only(ws.owner.value)},
           {"call", views::id_only(call.rec.id.value)},
           {"reason", "timeout"}});
  log(out, LogLevel::kInfo, "call.ring_timeout",
      {{"workspace", ws.id.value}, {"call", call.rec.id.value}, {"callee", callee.value}});
  (void)now;
  return out;
}

void Engine::Impl::detach_from_call(Workspace& ws, const AttendeeId& aid, Effects& out) {
  if (!ws.call) return;
  if (aid == ws.owner) {
    end_call(ws, out);
    return;
  }
  Call& call = *ws.call;
  if (auto it = call.rings.find(aid); it != call.rings.end()) {
    std::optional<TimerId> timer = it->second;
    cancel(out, timer);
    call.rings.erase(it);
    if (const Member* m = ws.member(aid)) {
      push_to(out, ws, ws.owner, ServerEvent::kBusy, busy_data(ws, m->rec, "gone"));
    }
  }
  std::erase(call.rec.participants, aid);
}

void Engine::Impl::detach_and_persist(Workspace& ws, const AttendeeId& aid, Effects& out) {
  const std::optional<CallRecord> before = ws.call ? std::optional(ws.call->rec) : std::nullopt;
  detach_from_call(ws, aid, out);
  const std::optional<CallRecord> after = ws.call ? std::optional(ws.call->rec) : std::nullopt;
  if (before != after) persist_call(out, ws);
}

void Engine::Impl::end_call(Workspace& ws, Effects& out) {
  if (!ws.call) return;
  for (auto& [callee, timer] : ws.call->rings) {
    std::optional<TimerId> t = timer;
    cancel(out, t);
  }
  const std::string call_id = ws.call->rec.id.value;
  push(out, online(ws, &ws.owner), ServerEvent::kHangup,
       {{"attendee", views::id_only(ws.owner.value)}, {"call", views::id_only(call_id)}});
  ws.call.reset();
  log(out, LogLevel::kInfo, "call.ended", {{"workspace", ws.id.value}, {"call", call_id}});
}

}  // namespace ws::core
