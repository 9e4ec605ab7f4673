// Shared harness for core::Engine tests: a fake clock, counter ids, real HS256 tokens, fake PIN
// hashing, and per-connection inboxes built from the Effects the Engine returns.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "auth/jwt.hpp"
#include "core/engine.hpp"
#include "proto/names.hpp"
#include "proto/parse.hpp"
#include "proto/serialize.hpp"

namespace ws::core::test {

namespace json = boost::json;
using namespace std::chrono_literals;

inline constexpr std::string_view kSecret = "engine-test-secret";
inline constexpr std::string_view kOwnerIp = "198.51.100.1";
inline constexpr std::string_view kGuestIp = "203.0.113.7";
/// 2023-11-14T22:13:20Z: the fake clock's start.
inline const TimePoint kStart{std::chrono::milliseconds{1'700'000'000'000}};

/// Deterministic ids: scripted values first, then "000…1", "000…2", ... of the asked length.
class CountingRandom final : public RandomSource {
 public:
  std::string alnum(std::size_t len) override {
    if (!script.empty()) {
      std::string v = std::move(script.front());
      script.pop_front();
      return v;
    }
    std::string digits = std::to_string(next++);
    if (digits.size() >= len) return digits.substr(digits.size() - len);
    return std::string(len - digits.size(), '0') + digits;
  }
  std::deque<std::string> script;
  std::uint64_t next = 1;
};

/// The value at a dotted path ("workspace.call.id"), or null when absent.
inline const json::value& at(const json::value& root, std::string_view path) {
  static const json::value kNull;
  const json::value* cur = &root;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    const json::object* obj = cur->if_object();
    if (!obj) return kNull;
    cur = obj->if_contains(key);
    if (!cur) return kNull;
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return *cur;
}

/// Sorted member names of an object (empty for anything else).
inline std::vector<std::string> keys(const json::value& v) {
  std::vector<std::string> out;
  if (const auto* obj = v.if_object())
    for (const auto& kv : *obj) out.emplace_back(kv.key());
  std::sort(out.begin(), out.end());
  return out;
}

using Vars = std::initializer_list<std::pair<std::string, std::string>>;

/// `text` with each variable ("$owner") replaced by its value; longer names first so "$a"
/// never eats "$ab".
inline std::string expand(std::string text, Vars vars) {
  std::vector<std::pair<std::string, std::string>> sorted(vars);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [name, value] : sorted) {
    for (auto pos = text.find(name); pos != std::string::npos;
         pos = text.find(name, pos + value.size())) {
      text.replace(pos, name.size(), value);
    }
  }
  return text;
}

/// JSON text parsed after expand().
inline json::value J(std::string text, Vars vars = {}) {
  return json::parse(expand(std::move(text), vars));
}

/// One message a connection received.
struct Msg {
  std::string event;
  json::value data;
  json::value re;
  const json::value& at(std::string_view path) const { return test::at(data, path); }
  std::string str(std::string_view path) const {
    const auto& v = at(path);
    return v.is_string() ? std::string(v.get_string()) : std::string{};
  }
};

/// One attendee as the tests drive it: its connection, id and access token.
struct Peer {
  ConnId conn;
  std::string id;
  std::string token;
  std::string name;
};

/// A workspace as its creator saw it.
struct Space {
  std::string id;
  std::string invite;
  Peer owner;
};

inline std::string describe(const Effect& effect) {
  struct V {
    std::string operator()(const Send& s) const {
      return "send " + std::to_string(s.conn.value) + " " + std::string(proto::name(s.msg.event));
    }
    std::string operator()(const Broadcast& b) const {
      std::string to;
      for (const auto& c : b.conns) to += (to.empty() ? "" : ",") + std::to_string(c.value);
      return "broadcast " + to + " " + std::string(proto::name(b.msg.event));
    }
    std::string operator()(const Close& c) const {
      return "close " + std::to_string(c.conn.value) + " " +
             std::to_string(static_cast<int>(c.code));
    }
    std::string operator()(const Persist& p) const {
      struct Kind {
        std::string operator()(const WorkspacePut&) const { return "put"; }
        std::string operator()(const WorkspaceDeleted&) const { return "delete"; }
        std::string operator()(const MemberPut&) const { return "member"; }
        std::string operator()(const MemberToggled&) const { return "toggle"; }
        std::string operator()(const MemberLeft&) const { return "left"; }
        std::string operator()(const AttendeeForgotten&) const { return "forget"; }
        std::string operator()(const CallChanged&) const { return "call"; }
        std::string operator()(const IdleChanged&) const { return "idle"; }
      };
      return "persist " + std::visit(Kind{}, p.change) + " " + workspace_of(p.change).value;
    }
    std::string operator()(const ArmTimer& a) const { return "arm " + std::to_string(a.id.value); }
    std::string operator()(const CancelTimer& c) const {
      return "cancel " + std::to_string(c.id.value);
    }
    std::string operator()(const HashPin&) const { return "hash-pin"; }
    std::string operator()(const VerifyPin&) const { return "verify-pin"; }
    std::string operator()(const FetchIce&) const { return "fetch-ice"; }
    std::string operator()(const Log& l) const { return "log " + l.event; }
    std::string operator()(const Bound& b) const {
      return std::string(b.bound ? "bound " : "unbound ") + std::to_string(b.conn.value);
    }
  };
  return std::visit(V{}, effect);
}

/// The real HS256 codec, counting how often the Engine asks it to verify an access token.
class CountingCodec final : public TokenCodec {
 public:
  explicit CountingCodec(std::string secret) : inner_(std::move(secret)) {}
  std::string sign_access(const AccessClaims& c) const override { return inner_.sign_access(c); }
  std::string sign_invite(const InviteClaims& c) const override { return inner_.sign_invite(c); }
  Result<AccessClaims> verify_access(std::string_view token, std::int64_t now) const override {
    ++access_verifications;
    return inner_.verify_access(token, now);
  }
  Result<InviteClaims> verify_invite(std::string_view token) const override {
    return inner_.verify_invite(token);
  }
  const auth::JwtCodec& inner() const { return inner_; }
  mutable int access_verifications = 0;

 private:
  auth::JwtCodec inner_;
};

/// Drives one Engine. Every action (send, drop, advance, ...) first forgets what the previous
/// action produced, so `inbox`, `closes`, `effects` and `trace` describe the latest action.
/// Async work (HashPin, VerifyPin, FetchIce) asked for while `auto_complete` is on is answered
/// at once; otherwise it waits in pending_*() for complete(). The fake hash of a PIN is "h:" + pin.
class Harness {
 public:
  explicit Harness(EngineOptions options = {})
      : options_(std::move(options)), engine_(options_, codec_, random_) {}

  // ---------------- events ----------------

  ConnId connect(std::string_view ip = kGuestIp) {
    begin();
    ConnId c{next_conn_++};
    run(Connected{c, std::string(ip)});
    return c;
  }

  /// One raw text frame, decoded by proto::parse as the server would.
  void send(ConnId c, std::string_view text) {
    begin();
    run(Received{c, proto::parse(text)});
  }

  /// Any event, as the Runtime hands it over (e.g. Received with its frame count, or
  /// FramesReceived).
  void handle(const Event& e) {
    begin();
    run(e);
  }

  /// A request frame; `id` null means none. `data` is JSON text.
  void request(ConnId c, std::string_view event, std::string_view data = "{}", json::value id = 1) {
    send(c, frame(event, json::parse(data), std::move(id)));
  }

  /// A request carrying `token` as data.accessToken (null: none), from `c`.
  void request_with(ConnId c, json::value token, std::string_view event,
                    std::string_view data = "{}", json::value id = 1) {
    json::value d = json::parse(data);
    if (!token.is_null()) d.as_object()["accessToken"] = std::move(token);
    send(c, frame(event, std::move(d), std::move(id)));
  }

  /// A request from `p`'s connection with `p`'s token.
  void as(const Peer& p, std::string_view event, std::string_view data = "{}", json::value id = 1) {
    request_with(p.conn, json::value(p.token), event, data, std::move(id));
  }

  void drop(ConnId c) {
    begin();
    run(Disconnected{c});
  }

  /// Moves the clock by `d`, firing every armed timer that falls due, in order, each at its
  /// own time.
  void advance(std::chrono::milliseconds d) {
    begin();
    const TimePoint target = now_ + d;
    for (;;) {
      auto due = std::min_element(timers_.begin(), timers_.end(), [](const auto& a, const auto& b) {
        return std::pair(a.second, a.first) < std::pair(b.second, b.first);
      });
      if (due == timers_.end() || due->second > target) break;
      const TimerId id{due->first};
      now_ = due->second;
      timers_.erase(due);
      run(TimerFired{id});
    }
    now_ = target;
  }

  /// Fires a timer now whether or not it is still armed (a late or stale TimerFired).
  void fire(TimerId id) {
    begin();
    run(TimerFired{id});
  }

  void shutdown(int retry_after_s) {
    begin();
    run(ShutdownStarted{retry_after_s});
  }

  void restore(const Snapshot& snapshot) {
    begin();
    stored_.clear();
    for (const auto& rec : snapshot.workspaces) stored_[rec.id] = rec;
    absorb(engine_.restore(snapshot, now_));
    drain();
    check_store();
  }

  /// check_store() after every event (a long churn test may check only at its end).
  bool check_every_event = true;
  /// Keep visible_text() (a long churn test may not: 10,000 attends with 16 KiB avatars are
  /// 160 MB of text, minutes of copying under TSan).
  bool keep_visible_text = true;

  // ---------------- async work ----------------

  bool auto_complete = true;
  bool ice_fails = false;
  json::array ice_servers{json::object{{"urls", "stun:stun.example.net:3478"}}};

  const std::vector<HashPin>& pending_hashes() const { return hashes_; }
  const std::vector<VerifyPin>& pending_verifies() const { return verifies_; }
  const std::vector<FetchIce>& pending_ices() const { return ices_; }

  /// Answers one piece of async work (outstanding or not) with `result`.
  void complete(RequestId id, std::variant<PinHashed, PinVerified, IceFetched> result) {
    begin();
    std::erase_if(hashes_, [&](const HashPin& x) { return x.request == id; });
    std::erase_if(verifies_, [&](const VerifyPin& x) { return x.request == id; });
    std::erase_if(ices_, [&](const FetchIce& x) { return x.request == id; });
    run(Completed{id, std::move(result)});
  }
  /// Answers every outstanding VerifyPin honestly (the fake hash), oldest first.
  void complete_verifies() {
    begin();
    auto all = std::exchange(verifies_, {});
    for (const auto& v : all) run(Completed{v.request, PinVerified{v.hash == "h:" + v.pin}});
  }

  // ---------------- what the last action produced ----------------

  const Effects& effects() const { return effects_; }
  /// describe() of each effect of the last action, Logs and Bound left out (bound() has them).
  std::vector<std::string> trace() const {
    std::vector<std::string> out;
    for (const auto& e : effects_)
      if (!std::holds_alternative<Log>(e) && !std::holds_alternative<Bound>(e))
        out.push_back(describe(e));
    return out;
  }
  /// The Bound effects of the last action, described ("bound 3", "unbound 1").
  std::vector<std::string> bound() const {
    std::vector<std::string> out;
    for (const auto& e : effects_)
      if (std::holds_alternative<Bound>(e)) out.push_back(describe(e));
    return out;
  }
  /// Index in trace() of the first entry starting with `prefix`, -1 when none.
  int position(std::string_view prefix) const {
    const auto t = trace();
    for (std::size_t i = 0; i < t.size(); ++i)
      if (t[i].starts_with(prefix)) return static_cast<int>(i);
    return -1;
  }
  bool has(std::string_view prefix) const { return position(prefix) >= 0; }
  template <class T>
  std::vector<T> all_of() const {
    std::vector<T> out;
    for (const auto& e : effects_)
      if (const auto* x = std::get_if<T>(&e)) out.push_back(*x);
    return out;
  }

  std::vector<Msg> inbox(ConnId c) const {
    auto it = inboxes_.find(c.value);
    return it == inboxes_.end() ? std::vector<Msg>{} : it->second;
  }
  std::vector<std::string> events(ConnId c) const {
    std::vector<std::string> out;
    for (const auto& m : inbox(c)) out.push_back(m.event);
    return out;
  }
  /// The one message `c` got; a test failure (and an empty Msg) otherwise.
  Msg only(ConnId c) const {
    const auto box = inbox(c);
    if (box.size() != 1) {
      ADD_FAILURE() << "conn " << c.value << " got " << box.size() << " messages, want 1";
      return {};
    }
    return box.front();
  }
  /// The last message `c` got, or an empty Msg.
  Msg last(ConnId c) const {
    const auto box = inbox(c);
    return box.empty() ? Msg{} : box.back();
  }
  std::vector<int> closes(ConnId c) const {
    auto it = closes_.find(c.value);
    return it == closes_.end() ? std::vector<int>{} : it->second;
  }
  /// Every byte of Send, Broadcast and Log effects since the harness started.
  std::string visible_text() const { return visible_; }

  // ---------------- scenario helpers ----------------

  /// A new connection creates a workspace; returns its ids and the owner's token.
  Space create(
      std::string_view data = R"({"workspace":{"name":"Team"},"attendee":{"name":"Olivia"}})",
      std::string_view ip = kOwnerIp) {
    const ConnId c = connect(ip);
    request(c, "create", data);
    const Msg m = last(c);
    if (m.event != "created") {
      ADD_FAILURE() << "create: got " << m.event << " " << json::serialize(m.data);
      return {};
    }
    return Space{m.str("workspace.id"), m.str("workspace.token"),
                 Peer{c, m.str("attendee.id"), m.str("accessToken"), m.str("attendee.name")}};
  }

  static std::string attend_data(const Space& s, std::string_view name,
                                 std::optional<std::string> pin = std::nullopt) {
    json::object ws{{"token", s.invite}};
    if (pin) ws["pin"] = *pin;
    return json::serialize(
        json::object{{"workspace", std::move(ws)}, {"attendee", {{"name", name}}}});
  }

  /// A new connection attends `s`; a test failure (and an empty Peer) unless it is granted.
  Peer join(const Space& s, std::string_view name = "Guest",
            std::optional<std::string> pin = std::nullopt, std::string_view ip = kGuestIp) {
    const ConnId c = connect(ip);
    request(c, "attend", attend_data(s, name, std::move(pin)));
    const Msg m = last(c);
    if (m.event != "attendance-granted") {
      ADD_FAILURE() << "join: got " << m.event << " " << json::serialize(m.data);
      return {};
    }
    return Peer{c, m.str("attendee.id"), m.str("accessToken"), std::string(name)};
  }

  /// `p` re-attends from a new connection; returns the peer with that connection.
  Peer reattend(const Peer& p) {
    const ConnId c = connect(kGuestIp);
    request_with(c, json::value(p.token), "re-attend");
    Peer out = p;
    out.conn = c;
    return out;
  }

  // ---------------- tokens, clock, store ----------------

  const auth::JwtCodec& codec() const { return codec_.inner(); }
  /// Access-token signature checks the Engine asked for so far.
  int access_verifications() const { return codec_.access_verifications; }
  std::string sign(const AccessClaims& claims) const { return codec_.sign_access(claims); }
  AccessClaims claims_of(std::string_view token) const {
    auto c = codec_.inner().verify_access(token, now_s());
    if (!c) {
      ADD_FAILURE() << "token does not verify: " << c.error().message;
      return {};
    }
    return *c;
  }

  TimePoint now() const { return now_; }
  std::int64_t now_ms() const { return now_.time_since_epoch().count(); }
  std::int64_t now_s() const { return now_ms() / 1000; }

  Engine& engine() { return engine_; }
  /// Armed timers: id -> due time.
  const std::map<std::uint64_t, TimePoint>& armed() const { return timers_; }
  CountingRandom& random() { return random_; }
  const EngineOptions& options() const { return options_; }

  /// The fake store, kept from Persist effects: latest record per workspace.
  std::map<std::string, WorkspaceRecord> store;
  Snapshot snapshot() const {
    Snapshot s;
    for (const auto& [id, rec] : store) s.workspaces.push_back(rec);
    return s;
  }

  static std::string frame(std::string_view event, json::value data, json::value id) {
    json::object f{{"event", event}, {"data", std::move(data)}};
    if (!id.is_null()) f["id"] = std::move(id);
    return json::serialize(f);
  }

 private:
  void begin() {
    effects_.clear();
    inboxes_.clear();
    closes_.clear();
  }

  void run(const Event& e) {
    absorb(engine_.handle(e, now_));
    drain();
    check_store();
  }

  /// With a store, what the Persist changes add up to is exactly the Engine's state, after
  /// every event: no change is missed, none is extra (each carries only what changed).
 public:
  void check_store() {
    if (!options_.durable || !check_every_event) return;
    const Snapshot held = engine_.snapshot();
    std::vector<WorkspaceRecord> stored;
    for (const auto& [id, rec] : stored_) stored.push_back(rec);
    EXPECT_EQ(stored, held.workspaces) << "the persisted changes differ from the Engine's state";
  }

 private:
  /// Answers the async work queued while auto_complete was on, including work that the
  /// answers themselves ask for.
  void drain() {
    while (!auto_queue_.empty()) {
      const Effect e = std::move(auto_queue_.front());
      auto_queue_.pop_front();
      if (const auto* h = std::get_if<HashPin>(&e)) {
        absorb(engine_.handle(Completed{h->request, PinHashed{"h:" + h->pin}}, now_));
      } else if (const auto* v = std::get_if<VerifyPin>(&e)) {
        absorb(engine_.handle(Completed{v->request, PinVerified{v->hash == "h:" + v->pin}}, now_));
      } else if (const auto* f = std::get_if<FetchIce>(&e)) {
        Result<json::array> servers = ice_servers;
        if (ice_fails) servers = fail(ErrorCode::kUnavailable, "provider down");
        absorb(engine_.handle(Completed{f->request, IceFetched{std::move(servers)}}, now_));
      }
    }
  }

  static Msg to_msg(const ServerMessage& m) {
    return Msg{std::string(proto::name(m.event)), m.data, m.re};
  }

  void absorb(Effects out) {
    if (!keep_visible_text) visible_.clear();
    for (auto& e : out) {
      if (const auto* s = std::get_if<Send>(&e)) {
        inboxes_[s->conn.value].push_back(to_msg(s->msg));
        visible_ += proto::serialize(s->msg) + "\n";
      } else if (const auto* b = std::get_if<Broadcast>(&e)) {
        for (const auto& c : b->conns) inboxes_[c.value].push_back(to_msg(b->msg));
        visible_ += proto::serialize(b->msg) + "\n";
      } else if (const auto* c = std::get_if<Close>(&e)) {
        closes_[c->conn.value].push_back(static_cast<int>(c->code));
      } else if (const auto* p = std::get_if<Persist>(&e)) {
        const WorkspaceId wid = workspace_of(p->change);
        apply_change(stored_, p->change);
        if (auto it = stored_.find(wid); it != stored_.end()) {
          store[wid.value] = it->second;
        } else {
          store.erase(wid.value);
        }
      } else if (const auto* a = std::get_if<ArmTimer>(&e)) {
        timers_[a->id.value] = a->at;
      } else if (const auto* x = std::get_if<CancelTimer>(&e)) {
        timers_.erase(x->id.value);
      } else if (std::holds_alternative<HashPin>(e) || std::holds_alternative<VerifyPin>(e) ||
                 std::holds_alternative<FetchIce>(e)) {
        if (auto_complete) {
          auto_queue_.push_back(e);
        } else if (const auto* h = std::get_if<HashPin>(&e)) {
          hashes_.push_back(*h);
        } else if (const auto* v = std::get_if<VerifyPin>(&e)) {
          verifies_.push_back(*v);
        } else {
          ices_.push_back(std::get<FetchIce>(e));
        }
      } else if (const auto* l = std::get_if<Log>(&e)) {
        visible_ += l->event;
        for (const auto& [k, v] : l->fields) visible_ += " " + k + "=" + v;
        visible_ += "\n";
      }
      effects_.push_back(std::move(e));
    }
  }

  EngineOptions options_;
  CountingCodec codec_{std::string(kSecret)};
  CountingRandom random_;
  Engine engine_;
  TimePoint now_ = kStart;
  std::uint64_t next_conn_ = 1;
  Effects effects_;
  std::map<std::uint64_t, std::vector<Msg>> inboxes_;
  std::map<std::uint64_t, std::vector<int>> closes_;
  std::vector<HashPin> hashes_;
  std::vector<VerifyPin> verifies_;
  std::vector<FetchIce> ices_;
  std::deque<Effect> auto_queue_;
  std::map<std::uint64_t, TimePoint> timers_;
  std::string visible_;
  std::map<WorkspaceId, WorkspaceRecord> stored_;  // the Persist changes, applied
};

/// Options with a given capacity, grace and ring timeout (the rest default).
inline EngineOptions options_with(std::size_t capacity, std::chrono::seconds grace = 30s,
                                  std::chrono::seconds ring = 45s) {
  EngineOptions o;
  o.max_capacity = capacity;
  o.reconnect_grace = grace;
  o.ring_timeout = ring;
  return o;
}

/// The ways a member stops being one without being kicked: `leave`, or a drop that outlives
/// the default 30 s grace period. Each entry turns `p` into a former member.
struct FormerMemberCase {
  std::string name;
  std::function<void(Harness&, const Peer&)> make_former;
};
inline std::vector<FormerMemberCase> former_member_cases() {
  return {
      {"left", [](Harness& h, const Peer& p) { h.as(p, "leave"); }},
      {"grace expired",
       [](Harness& h, const Peer& p) {
         h.drop(p.conn);
         h.advance(30s);
       }},
  };
}

}  // namespace ws::core::test
