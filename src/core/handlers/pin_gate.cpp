// PIN hashing fairness and the per-workspace cap on guessing (docs/protocol.md §11): one hash in
// flight per address key, a server-wide bound, and the slow lane of a workspace under attack.
#include <algorithm>

#include "core/engine_impl.hpp"

namespace ws::core {

bool Engine::Impl::hash_slot_open(const std::string& key) const {
  auto it = hash_lanes.find(key);
  if (it != hash_lanes.end()) return it->second.waiting.size() < HashLane::kWaitingPerAddress;
  return static_cast<int>(hashes_in_flight) < opt.pin_hash_queue;
}

Engine::Impl::HashSlot Engine::Impl::take_hash_slot(const std::string& key, RequestId rid) {
  if (auto it = hash_lanes.find(key); it != hash_lanes.end()) {
    if (it->second.waiting.size() >= HashLane::kWaitingPerAddress) {
      ++pin_checks_refused_busy;
      return HashSlot::kRefused;
    }
    it->second.waiting.push_back(rid);
    return HashSlot::kQueued;
  }
  if (static_cast<int>(hashes_in_flight) >= opt.pin_hash_queue) {
    ++pin_checks_refused_busy;
    return HashSlot::kRefused;
  }
  HashLane lane;
  if (inherit_served && inherit_served->first == key) lane.served = inherit_served->second;
  hash_lanes.emplace(key, std::move(lane));
  ++hashes_in_flight;
  return HashSlot::kGranted;
}

void Engine::Impl::submit_hash(const std::string& key, Effect work, TimePoint now, Effects& out) {
  hash_queue.push_back(QueuedHash{key, std::move(work)});
  pump_hashes(now, out);
}

void Engine::Impl::pump_hashes(TimePoint now, Effects& out) {
  while (!hash_queue.empty() && static_cast<int>(hashes_in_pool) < opt.pin_hash_parallel) {
    // Least recently served address first; among equals, the oldest. At most pin_hash_queue
    // entries, so a scan is cheap.
    auto served = [&](const QueuedHash& q) {
      auto it = hash_lanes.find(q.key);
      return it == hash_lanes.end() ? TimePoint::min() : it->second.served;
    };
    auto next =
        std::min_element(hash_queue.begin(), hash_queue.end(),
                         [&](const auto& a, const auto& b) { return served(a) < served(b); });
    if (auto it = hash_lanes.find(next->key); it != hash_lanes.end()) it->second.served = now;
    out.push_back(std::move(next->work));
    hash_queue.erase(next);
    ++hashes_in_pool;
  }
}

void Engine::Impl::release_hash_slot(const std::string& key, TimePoint now, Effects& out) {
  if (hashes_in_pool > 0) --hashes_in_pool;
  auto node = hash_lanes.extract(key);
  if (node.empty()) {
    pump_hashes(now, out);
    return;
  }
  --hashes_in_flight;
  // A lane this address takes again below remembers when it was last served.
  inherit_served = std::pair(key, node.mapped().served);
  // The next request of this address goes to the back of the pool's line, behind every other
  // address's: round robin between addresses.
  std::deque<RequestId> waiting = std::move(node.mapped().waiting);
  while (!waiting.empty()) {
    const RequestId rid = waiting.front();
    waiting.pop_front();
    if (hash_lanes.count(key)) {  // an earlier one took the slot again: wait behind it
      hash_lanes.at(key).waiting.push_back(rid);
      continue;
    }

    auto pit = pending.find(rid);
    if (pit == pending.end()) continue;
    if (auto* pc = std::get_if<PendingCreate>(&pit->second)) {
      if (!conns.count(pc->to.conn)) {  // gone while waiting
        pending.erase(pit);
        continue;
      }
      take_hash_slot(key, rid);  // granted: the slot and a place in the bound were just freed
      pc->hashing = true;
      hash_queue.push_back(QueuedHash{key, HashPin{rid, *pc->req.workspace_pin}});
      continue;
    }
    auto& pa = std::get<PendingAttend>(pit->second);
    auto wit = workspaces.find(pa.wid);
    if (!conns.count(pa.to.conn) || wit == workspaces.end()) {
      pending.erase(pit);  // a destroyed workspace's waiting attends were told already
      continue;
    }
    Effects more = check_pin(rid, wit->second, now);
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
  }
  inherit_served.reset();
  pump_hashes(now, out);
}

Effects Engine::Impl::hash_busy(const ReplyTo& to) {
  Error e{ErrorCode::kRateLimited, "too many PIN checks at once, try again shortly", "", 1};
  return alert(to, e);
}

void Engine::Impl::record_pin_failure(const std::string& key, const WorkspaceId& wid, TimePoint now,
                                      Effects& out) {
  pin_attempts[{key, wid}].failures.push_back(now);
  PinGuard& g = pin_guards[wid];
  const auto cap = static_cast<std::size_t>(std::max(1, opt.pin_max_failures_per_workspace));
  g.failures.push_back(now);
  while (g.failures.size() > cap || g.failures.front() <= now - opt.pin_workspace_window) {
    g.failures.pop_front();
  }
  g.failed[key] = now;
  if (g.failed.size() > g.failed_prune_at) prune_failed_addresses(g, now);
  if (g.slow || g.failures.size() < cap) return;
  g.slow = true;
  g.timer = arm(out, TimerInfo{TimerInfo::Kind::kPinSlowLane, wid, {}},
                g.failures.front() + opt.pin_workspace_window);
  log(out, LogLevel::kWarn, "workspace.pin_slow_lane",
      {{"workspace", wid.value},
       {"failures", std::to_string(g.failures.size())},
       {"window_seconds", std::to_string(opt.pin_workspace_window.count())},
       {"addresses", std::to_string(g.failed.size())}});
}

// Bound of `failed`: outside the slow lane a window holds fewer than the cap's wrong PINs (plus
// the checks in flight when it was reached, at most pin_hash_queue); in it, a wrong PIN needs a
// slow-lane start, at most one per pin_slow_lane_interval. So a window's entries number at most
// pin_max_failures_per_workspace + pin_hash_queue + window / interval (100 + 16 + 1800 by
// default), and pruning at twice the live size keeps the map within twice that.
void Engine::Impl::prune_failed_addresses(PinGuard& g, TimePoint now) {
  std::erase_if(g.failed,
                [&](const auto& entry) { return entry.second <= now - opt.pin_workspace_window; });
  g.failed_prune_at = std::max<std::size_t>(64, 2 * g.failed.size());
}

Effects Engine::Impl::slow_lane_check(const WorkspaceId& wid, TimerId id, TimePoint now) {
  Effects out;
  auto git = pin_guards.find(wid);
  if (git == pin_guards.end() || git->second.timer != id) return out;
  PinGuard& g = git->second;
  g.timer.reset();
  while (!g.failures.empty() && g.failures.front() <= now - opt.pin_workspace_window) {
    g.failures.pop_front();
  }
  if (static_cast<int>(g.failures.size()) >= opt.pin_max_failures_per_workspace) {
    g.timer = arm(out, TimerInfo{TimerInfo::Kind::kPinSlowLane, wid, {}},
                  g.failures.front() + opt.pin_workspace_window);
    return out;
  }
  g.slow = false;
  prune_failed_addresses(g, now);
  log(out, LogLevel::kInfo, "workspace.pin_slow_lane_ended",
      {{"workspace", wid.value}, {"failures", std::to_string(g.failures.size())}});
  if (g.idle()) pin_guards.erase(git);
  return out;
}

void Engine::Impl::prune_pin_guards(TimePoint now) {
  for (auto it = pin_guards.begin(); it != pin_guards.end();) {
    PinGuard& g = it->second;
    while (!g.failures.empty() && g.failures.front() <= now - opt.pin_workspace_window) {
      g.failures.pop_front();
    }
    if (!g.slow) prune_failed_addresses(g, now);
    it = g.idle() ? pin_guards.erase(it) : std::next(it);
  }
}

void Engine::Impl::drop_waiting_attends(const WorkspaceId& wid, Effects& out) {
  for (auto& [key, lane] : hash_lanes) {
    std::erase_if(lane.waiting, [&](RequestId rid) {
      auto pit = pending.find(rid);
      if (pit == pending.end()) return true;
      const auto* pa = std::get_if<PendingAttend>(&pit->second);
      if (!pa || pa->wid != wid) return false;
      if (conns.count(pa->to.conn)) {
        Effects gone = destroyed_reply(pa->to, wid);
        out.insert(out.end(), std::make_move_iterator(gone.begin()),
                   std::make_move_iterator(gone.end()));
      }
      pending.erase(pit);
      return true;
    });
  }
}

}  // namespace ws::core
