// Relay handlers: icecandidate, negotiation (never stored), iceservers (PROTOCOL.md §4, §6).
#include "core/engine_impl.hpp"

namespace ws::core {

Effects Engine::Impl::ice_candidate(Caller& c, const IceCandidateReq& req) {
  if (!c.ws->members.count(req.target)) {
    return alert(c.to, ErrorCode::kNotFound, "target is not a member", "attendee.id");
  }
  Effects out;
  ok(c.to, out);
  const json::object sender = views::id_only(c.claims.aid.value);
  push_to(out, *c.ws, req.target, ServerEvent::kIceCandidate,
          {{"attendee", sender}, {"broadcaster", sender}, {"candidate", req.candidate}});
  return out;
}

Effects Engine::Impl::negotiation(Caller& c, const NegotiationReq& req) {
  if (!c.ws->members.count(req.target)) {
    return alert(c.to, ErrorCode::kNotFound, "target is not a member", "attendee.id");
  }
  Effects out;
  ok(c.to, out);
  push_to(out, *c.ws, req.target, ServerEvent::kNegotiation,
          {{"attendee", views::brief(c.self->rec)}, {"message", req.message}});
  return out;
}

Effects Engine::Impl::ice_servers(const ReplyTo& to, std::optional<AttendeeId> attendee) {
  RequestId rid{next_request++};
  pending.emplace(rid, PendingIce{to});
  return {FetchIce{rid, std::move(attendee)}};
}

}  // namespace ws::core
