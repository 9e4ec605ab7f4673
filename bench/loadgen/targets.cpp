#include "targets.hpp"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace lg {
namespace {

namespace json = boost::json;
using std::string_view_literals::operator""sv;

std::string quote(std::string_view text) {
  return json::serialize(json::string(text));
}

/// head + padding + middle + stamp digits + tail, padded so the whole is about `size` bytes.
Frame padded_frame(std::string_view head, std::string_view middle, std::string_view tail,
                   int size) {
  const std::size_t fixed = head.size() + middle.size() + kStampDigits + tail.size();
  const std::size_t pad = static_cast<std::size_t>(size) > fixed ? size - fixed : 0;
  Frame frame;
  frame.text.reserve(fixed + pad);
  frame.text.append(head).append(pad, 'x').append(middle);
  frame.stamp_at = frame.text.size();
  frame.text.append(kStampDigits, '0').append(tail);
  return frame;
}

/// A run-unique prefix for peer ids, so that two load generators do not collide.
std::string id_prefix(char letter) {
  std::string out(1, letter);
  out += std::to_string(getpid());
  return out;
}

/// The text at `path` in a reply, or an error naming what is missing.
std::string text_at(const json::object& data, std::initializer_list<std::string_view> path) {
  const json::object* at = &data;
  std::string where;
  for (auto it = path.begin(); it != path.end(); ++it) {
    if (!where.empty()) where += '.';
    where += *it;
    const json::value* v = at->if_contains(*it);
    if (v && std::next(it) == path.end() && v->is_string()) return std::string(v->get_string());
    if (!v || !v->is_object()) throw std::runtime_error("reply lacks " + where);
    at = &v->get_object();
  }
  throw std::runtime_error("reply lacks " + where);
}

// ---------------------------------------------------------------------------------------------
class Workspaces final : public Target {
 public:
  task<Peer> open_first(Run& run, int) override { co_return co_await wsp::create(run); }

  task<Peer> open_second(Run& run, int, const Peer& first) override {
    co_return co_await wsp::attend(run, first.invite);
  }

  task<void> settle(Run& run, Peer& first, Peer&) override {
    co_await wsp::wait_event(*first.client, "attend", run.op_timeout);
  }

  Frame relay_frame(const Peer& from, const Peer& to, int kind, int size) const override {
    const std::string common = "\"data\":{\"accessToken\":" + quote(from.token) +
                               ",\"attendee\":{\"id\":" + quote(to.id) + "},";
    if (kind == 0) {
      return padded_frame("{\"event\":\"negotiation\"," + common + "\"message\":{\"sdp\":\"",
                          "\",\"t\":\"", "\"}}}", size);
    }
    return padded_frame("{\"event\":\"icecandidate\"," + common + "\"candidate\":{\"candidate\":\"",
                        "\",\"t\":\"", "\"}}}", size);
  }

  Kind classify(std::string_view frame) const override {
    if (frame.starts_with(R"({"event":"negotiation",)") ||
        frame.starts_with(R"({"event":"icecandidate",)")) {
      return Kind::kRelay;
    }
    return frame.starts_with(R"({"event":"alert")") ? Kind::kError : Kind::kIgnore;
  }

  task<void> churn_setup(Run& run, int loops) override {
    // Several workspaces, so that no single one's member list is what is measured.
    const int workspaces = std::max(std::min(10, loops), (loops + 19) / 20);
    for (int w = 0; w < workspaces; ++w) {
      Peer owner = co_await wsp::create(run);
      invites_.push_back(owner.invite);
      run.keep.push_back(owner.client);
      Run* r = &run;
      owner.client->start(
          [r](std::string_view frame) {
            if (frame.starts_with(R"({"event":"alert")")) r->errors.add("owner: " + excerpt(frame));
          },
          [r](bool expected, const std::string& why) {
            if (!expected) r->errors.add("owner connection ended: " + why);
          });
    }
    run.fields["workspaces"] = workspaces;
    if (run.opt.churn_mode == "attend") co_return;
    for (int i = 0; i < loops; ++i) {
      Peer guest = co_await wsp::attend(run, invites_[i % invites_.size()]);
      tokens_.push_back(guest.token);
      co_await guest.client->close(run.op_timeout);
    }
  }

  task<void> churn_cycle(Run& run, int loop, long) override {
    if (run.opt.churn_mode == "attend") {
      Peer guest = co_await wsp::attend(run, invites_[loop % invites_.size()]);
      co_await wsp::leave(run, *guest.client, guest.token);
      co_await guest.client->close(run.op_timeout);
      co_return;
    }
    auto c = run.client();
    co_await c->open(run.endpoint, run.host_header, "/ws", run.op_timeout);
    const json::object message{
        {"event", "re-attend"}, {"data", {{"accessToken", tokens_[loop]}}}, {"id", 3}};
    co_await wsp::request(*c, message, "re-attendance-granted", run.op_timeout);
    co_await c->close(run.op_timeout);
  }

 private:
  std::vector<std::string> invites_;
  std::vector<std::string> tokens_;
};

// ---------------------------------------------------------------------------------------------
/// Servers where opening the WebSocket under an id is the registration (PeerJS, the bare relay):
/// pairs are two ids, and a churn cycle is a new id's connect and close.
class RegisteredById : public Target {
 public:
  task<Peer> open_first(Run& run, int index) override {
    co_return co_await open(run, prefix_ + "x" + std::to_string(index) + "-a");
  }
  task<Peer> open_second(Run& run, int index, const Peer&) override {
    co_return co_await open(run, prefix_ + "x" + std::to_string(index) + "-b");
  }
  task<void> churn_cycle(Run& run, int loop, long cycle) override {
    Peer p = co_await open(run, prefix_ + "c" + std::to_string(loop) + "-" + std::to_string(cycle));
    co_await p.client->close(run.op_timeout);
  }

 protected:
  explicit RegisteredById(char tag) : prefix_(id_prefix(tag)) {}
  /// Connects and registers as `id`.
  virtual task<Peer> open(Run& run, std::string id) = 0;

 private:
  std::string prefix_;
};

// ---------------------------------------------------------------------------------------------
class Peerjs final : public RegisteredById {
 public:
  explicit Peerjs(const Options& o)
      : RegisteredById('p'), path_(o.peerjs_path), key_(o.peerjs_key) {}

  Frame relay_frame(const Peer&, const Peer& to, int kind, int size) const override {
    if (kind == 0) {
      return padded_frame(R"({"type":"OFFER","dst":)" + quote(to.id) + R"(,"payload":{"sdp":")",
                          "\",\"t\":\"", "\"}}", size);
    }
    return padded_frame(
        R"({"type":"CANDIDATE","dst":)" + quote(to.id) + R"(,"payload":{"candidate":")",
        "\",\"t\":\"", "\"}}", size);
  }

  Kind classify(std::string_view frame) const override {
    if (frame.starts_with(R"({"type":"OFFER",)") || frame.starts_with(R"({"type":"CANDIDATE",)")) {
      return Kind::kRelay;
    }
    // ERROR, ID-TAKEN, and LEAVE/EXPIRE (a peer vanished) are all unexpected here.
    for (auto bad : {R"({"type":"ERROR")"sv, R"({"type":"ID-TAKEN")"sv, R"({"type":"LEAVE")"sv,
                     R"({"type":"EXPIRE")"sv}) {
      if (frame.starts_with(bad)) return Kind::kError;
    }
    return Kind::kIgnore;
  }

  std::string_view heartbeat() const override { return R"({"type":"HEARTBEAT"})"; }

 private:
  /// Connects as `id`; the server's OPEN message is the registration.
  task<Peer> open(Run& run, std::string id) override {
    Peer p;
    p.client = run.client();
    p.id = std::move(id);
    const std::string target = path_ + "?key=" + key_ + "&id=" + p.id + "&token=t" + p.id;
    co_await p.client->open(run.endpoint, run.host_header, target, run.op_timeout);
    const std::string first = co_await p.client->read(run.op_timeout);
    if (!first.starts_with(R"({"type":"OPEN")")) {
      throw std::runtime_error("peer " + p.id + ": expected OPEN, got " + excerpt(first));
    }
    co_return p;
  }

  std::string path_, key_;
};

// ---------------------------------------------------------------------------------------------
class Bare final : public RegisteredById {
 public:
  Bare() : RegisteredById('b') {}

  Frame relay_frame(const Peer&, const Peer& to, int kind, int size) const override {
    const char* type = kind == 0 ? R"({"type":"OFFER","payload":{"sdp":")"
                                 : R"({"type":"CANDIDATE","payload":{"candidate":")";
    return padded_frame(to.id + " " + type, "\",\"t\":\"", "\"}}", size);
  }

  Kind classify(std::string_view frame) const override {
    const auto space = frame.find(' ');
    if (space == std::string_view::npos) return Kind::kError;
    const auto body = frame.substr(space + 1);
    return body.starts_with(R"({"type":"OFFER",)") || body.starts_with(R"({"type":"CANDIDATE",)")
               ? Kind::kRelay
               : Kind::kError;  // the relay only forwards what we sent
  }

 private:
  /// The upgrade to /?id=<id> is the registration.
  task<Peer> open(Run& run, std::string id) override {
    Peer p;
    p.client = run.client();
    p.id = std::move(id);
    co_await p.client->open(run.endpoint, run.host_header, "/?id=" + p.id, run.op_timeout);
    co_return p;
  }
};

}  // namespace

task<void> Target::settle(Run&, Peer&, Peer&) {
  co_return;
}
task<void> Target::churn_setup(Run&, int) {
  co_return;
}

std::unique_ptr<Target> make_target(const Options& options) {
  switch (options.target) {
    case TargetKind::kWorkspaces:
      return std::make_unique<Workspaces>();
    case TargetKind::kPeerjs:
      return std::make_unique<Peerjs>(options);
    case TargetKind::kBare:
      return std::make_unique<Bare>();
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
namespace wsp {

task<json::object> request(Client& c, const json::object& message, std::string_view reply_event,
                           milliseconds timeout) {
  const std::int64_t id = message.at("id").as_int64();
  const std::string_view name = message.at("event").as_string();
  co_await c.write(json::serialize(message), timeout);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw std::runtime_error(std::string(name) + ": no reply in time");
    std::string text;
    try {
      text = co_await c.read(left);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(name) + ": " + e.what());
    }
    boost::system::error_code ec;
    json::value reply = json::parse(text, ec);
    if (ec || !reply.is_object()) throw std::runtime_error("unparsable frame: " + excerpt(text));
    json::object& o = reply.get_object();
    const json::value* re = o.if_contains("re");
    if (!re || !re->is_int64() || re->get_int64() != id) continue;  // a push
    const json::value* event = o.if_contains("event");
    if (event && event->is_string() && event->get_string() == reply_event) {
      json::value* data = o.if_contains("data");
      co_return data && data->is_object() ? std::move(data->get_object()) : json::object();
    }
    throw std::runtime_error(std::string(name) + " answered: " + excerpt(text, 300));
  }
}

task<json::object> wait_event(Client& c, std::string_view event, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw std::runtime_error("no '" + std::string(event) + "' in time");
    const std::string text = co_await c.read(left);
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) throw std::runtime_error("unparsable frame: " + excerpt(text));
    const json::value* name = v.get_object().if_contains("event");
    if (!name || !name->is_string()) continue;
    if (name->get_string() == event) {
      json::value* data = v.get_object().if_contains("data");
      co_return data && data->is_object() ? std::move(data->get_object()) : json::object();
    }
    if (name->get_string() == "alert") throw std::runtime_error("alert: " + excerpt(text, 300));
  }
}

task<Peer> create(Run& run, std::string_view pin) {
  Peer p;
  p.client = run.client();
  co_await p.client->open(run.endpoint, run.host_header, "/ws", run.op_timeout);
  json::object workspace{{"name", "bench"}};
  if (!pin.empty()) workspace["pin"] = pin;
  const json::object message{
      {"event", "create"},
      {"data", {{"workspace", std::move(workspace)}, {"attendee", {{"name", "a"}}}}},
      {"id", 1}};
  const json::object data = co_await request(*p.client, message, "created", run.op_timeout);
  p.id = text_at(data, {"attendee", "id"});
  p.token = text_at(data, {"accessToken"});
  p.invite = text_at(data, {"workspace", "token"});
  co_return p;
}

task<Peer> attend(Run& run, const std::string& invite, std::string_view pin,
                  std::shared_ptr<Client> c) {
  Peer p;
  const bool fresh = !c;
  p.client = fresh ? run.client() : std::move(c);
  if (fresh) co_await p.client->open(run.endpoint, run.host_header, "/ws", run.op_timeout);
  json::object workspace{{"token", invite}};
  if (!pin.empty()) workspace["pin"] = pin;
  const json::object message{
      {"event", "attend"},
      {"data", {{"workspace", std::move(workspace)}, {"attendee", {{"name", "b"}}}}},
      {"id", 2}};
  const json::object data =
      co_await request(*p.client, message, "attendance-granted", run.op_timeout);
  p.id = text_at(data, {"attendee", "id"});
  p.token = text_at(data, {"accessToken"});
  co_return p;
}

task<void> leave(Run& run, Client& c, const std::string& access_token) {
  const json::object message{
      {"event", "leave"}, {"data", {{"accessToken", access_token}}}, {"id", 4}};
  co_await request(c, message, "left", run.op_timeout);
}

std::string_view attendee_id(std::string_view frame) {
  constexpr std::string_view key = R"("attendee":{"id":")";
  const auto at = frame.find(key);
  if (at == std::string_view::npos) return {};
  const auto begin = at + key.size();
  const auto end = frame.find('"', begin);
  return end == std::string_view::npos ? std::string_view() : frame.substr(begin, end - begin);
}

}  // namespace wsp
}  // namespace lg
