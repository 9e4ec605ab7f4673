// Memory per connection, connection churn, and workspace fan-out; plus the dispatch.
#include <stdexcept>
#include <unordered_map>

#include <boost/json/serialize.hpp>

#include "scenarios.hpp"

namespace lg {
namespace {

namespace json = boost::json;

// --- churn ---------------------------------------------------------------------------------

struct ChurnState {
  bool running = true;
  long ops = 0;
};

task<void> churn_loop(Run& run, std::shared_ptr<ChurnState> st, int loop) {
  long cycle = 0;
  while (st->running) {
    try {
      co_await run.target->churn_cycle(run, loop, cycle++);
      ++st->ops;
      continue;
    } catch (const std::exception& e) {
      run.errors.add(std::string("churn: ") + e.what());
    }
    co_await sleep_for(std::chrono::milliseconds(50));  // a dead server must not make us spin
  }
}

// --- fanout --------------------------------------------------------------------------------

struct Member {
  Client* client = nullptr;
  Frame toggles[2];   // state false, state true
  bool state = true;  // what the others should see now (mic starts true)
  long pending = 0;   // deliveries of this member's last toggle still on the way
};

/// A transparent hash, so a std::string_view finds a std::string key without a copy.
struct ViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct FanoutState {
  Run* run = nullptr;
  std::vector<Member> members;
  std::unordered_map<std::string, std::size_t, ViewHash, std::equal_to<>> index;  // id -> member
  bool running = true;
  long toggles = 0;
  long deliveries = 0;

  void toggle(Member& m) {
    m.state = !m.state;
    m.client->send(m.toggles[m.state ? 1 : 0]);
    m.pending = static_cast<long>(members.size()) - 1;
    ++toggles;
  }
};

void fanout_receive(FanoutState& st, std::string_view frame) {
  if (!frame.starts_with(R"({"event":"mic-toggle",)")) {
    if (frame.starts_with(R"({"event":"alert")")) st.run->errors.add("alert: " + excerpt(frame));
    return;
  }
  const auto it = st.index.find(wsp::attendee_id(frame));
  const auto state_at = frame.find(R"("state":)");
  if (it == st.index.end() || state_at == std::string_view::npos) {
    st.run->errors.add("mic-toggle from an unknown member: " + excerpt(frame));
    return;
  }
  Member& sender = st.members[it->second];
  const bool state = frame.substr(state_at + 8).starts_with("true");
  if (state != sender.state || sender.pending <= 0) {
    st.run->errors.add("mic-toggle that was not sent (or seen twice): " + excerpt(frame));
    return;
  }
  ++st.deliveries;
  if (--sender.pending == 0 && st.running) st.toggle(sender);
}

}  // namespace

task<void> memory(Run& run) {
  const Options& o = run.opt;
  run.fields = {{"conns", o.conns},
                {"rss_before_kib", nullptr},
                {"rss_after_kib", nullptr},
                {"kib_per_conn", nullptr},
                {"setup_seconds", nullptr}};
  if (o.server_pid == 0) throw std::runtime_error("memory needs --server-pid");
  const auto before = run.sample_server();
  if (!before) co_return;
  run.fields["rss_before_kib"] = before->rss_kib;
  const auto t0 = Clock::now();
  co_await setup_pairs(run, o.conns, 200, false, [&run](PeerPair& pair) {
    start_idle(run, pair.first.client);
    if (pair.second.client) start_idle(run, pair.second.client);
  });
  run.fields["setup_seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto idle0 = run.sample_server();
  co_await sleep_for(std::chrono::seconds(2));
  const auto after = run.sample_server();
  run.seconds = 2;
  run.record_server(idle0, after, run.seconds);
  if (!after) co_return;
  run.fields["rss_after_kib"] = after->rss_kib;
  run.fields["kib_per_conn"] =
      static_cast<double>(after->rss_kib - before->rss_kib) / static_cast<double>(o.conns);
}

task<void> churn(Run& run) {
  const Options& o = run.opt;
  const char* mode = o.target == TargetKind::kWorkspaces ? o.churn_mode.c_str()
                     : o.target == TargetKind::kPeerjs   ? "open"
                                                         : "connect";
  run.fields = {{"concurrency", o.concurrency}, {"mode", mode}, {"ops", 0}, {"ops_per_s", 0}};
  co_await run.target->churn_setup(run, o.concurrency);
  auto st = std::make_shared<ChurnState>();
  auto loops = std::make_shared<Latch>(run.io, o.concurrency);
  for (int i = 0; i < o.concurrency; ++i) spawn(run, churn_loop(run, st, i), loops);
  const std::function<std::vector<long>()> counters = [st] { return std::vector<long>{st->ops}; };
  const auto grew = co_await measure_window(run, counters);  // named: see relay()
  st->running = false;
  run.fields["ops"] = grew[0];
  run.fields["ops_per_s"] = static_cast<double>(grew[0]) / run.seconds;
  if (!co_await loops->wait(Clock::now() + run.op_timeout * 3)) {
    run.errors.add("churn loops did not stop in time");
  }
}

task<void> fanout(Run& run) {
  const Options& o = run.opt;
  if (o.target != TargetKind::kWorkspaces)
    throw std::runtime_error("fanout needs --target workspaces");
  run.fields = {{"members", o.members}, {"toggles", 0}, {"deliveries", 0}, {"deliveries_per_s", 0}};
  std::vector<Peer> peers;
  peers.push_back(co_await wsp::create(run));
  run.keep.push_back(peers.back().client);
  for (int i = 1; i < o.members; ++i) {
    peers.push_back(co_await wsp::attend(run, peers.front().invite));
    run.keep.push_back(peers.back().client);
  }
  // The owner has seen every `attend` push once the last one is in: setup traffic is over.
  for (int i = 1; i < o.members; ++i)
    co_await wsp::wait_event(*peers.front().client, "attend", run.op_timeout);

  auto st = std::make_shared<FanoutState>();
  st->run = &run;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    Member m;
    m.client = peers[i].client.get();
    for (int state = 0; state < 2; ++state) {
      m.toggles[state].text = json::serialize(
          json::object{{"event", "mic-toggle"},
                       {"data", {{"accessToken", peers[i].token}, {"state", state == 1}}}});
    }
    st->members.push_back(std::move(m));
    st->index.emplace(peers[i].id, i);
  }
  Run* r = &run;
  for (auto& m : st->members) {
    m.client->start([st](std::string_view frame) { fanout_receive(*st, frame); },
                    [r](bool expected, const std::string& why) {
                      if (!expected) r->errors.add("connection ended under load: " + why);
                    });
  }
  for (auto& m : st->members) st->toggle(m);
  const std::function<std::vector<long>()> counters = [st] {
    return std::vector<long>{st->toggles, st->deliveries};
  };
  const auto grew = co_await measure_window(run, counters);  // named: see relay()
  st->running = false;
  run.fields["toggles"] = grew[0];
  run.fields["deliveries"] = grew[1];
  run.fields["deliveries_per_s"] = static_cast<double>(grew[1]) / run.seconds;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  auto pending = [&] {
    long sum = 0;
    for (const auto& m : st->members) sum += m.pending;
    return sum;
  };
  while (pending() > 0 && Clock::now() < deadline) co_await sleep_for(std::chrono::milliseconds(5));
  if (pending() > 0) run.errors.add(std::to_string(pending()) + " mic-toggles never arrived");
}

task<void> run_scenario(Run& run) {
  const std::string& s = run.opt.scenario;
  if (s == "relay") co_return co_await relay(run);
  if (s == "latency") co_return co_await latency(run);
  if (s == "memory") co_return co_await memory(run);
  if (s == "churn") co_return co_await churn(run);
  if (s == "fanout") co_return co_await fanout(run);
  if (s == "pinstorm") co_return co_await pinstorm(run);
  throw std::runtime_error("unknown scenario " + s);
}

}  // namespace lg
