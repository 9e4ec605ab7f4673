#include <stdexcept>

#include "scenarios.hpp"

namespace lg {
namespace {

struct SetupState {
  std::vector<PeerPair> pairs;
  long connections = 0;
  std::size_t next = 0;
  std::size_t ready = 0;
  bool failed = false;  // a pair failed: the workers stop taking new ones
  std::function<void(PeerPair&)> on_ready;
};

task<void> setup_worker(Run& run, std::shared_ptr<SetupState> st, bool settle) {
  while (!st->failed && st->next < st->pairs.size()) {
    const std::size_t index = st->next++;
    PeerPair& pair = st->pairs[index];
    try {
      pair.first = co_await run.target->open_first(run, static_cast<int>(index));
      run.keep.push_back(pair.first.client);
      if (static_cast<long>(2 * index + 1) < st->connections) {
        pair.second = co_await run.target->open_second(run, static_cast<int>(index), pair.first);
        run.keep.push_back(pair.second.client);
        if (settle) co_await run.target->settle(run, pair.first, pair.second);
      }
    } catch (...) {
      st->failed = true;
      throw;
    }
    ++st->ready;
    if (st->on_ready) st->on_ready(pair);
  }
}

}  // namespace

task<std::vector<PeerPair>> setup_pairs(Run& run, long connections, int parallel, bool settle,
                                        std::function<void(PeerPair&)> on_ready) {
  auto st = std::make_shared<SetupState>();
  st->pairs.resize(static_cast<std::size_t>((connections + 1) / 2));
  st->connections = connections;
  st->on_ready = std::move(on_ready);
  const long errors_before = run.errors.count();
  const auto workers = std::min<std::size_t>(static_cast<std::size_t>(parallel), st->pairs.size());
  auto latch = std::make_shared<Latch>(run.io, static_cast<long>(workers));
  for (std::size_t w = 0; w < workers; ++w) spawn(run, setup_worker(run, st, settle), latch);
  const auto budget = setup_budget(connections);
  const bool done = co_await latch->wait(Clock::now() + budget);
  if (!done) {
    st->failed = true;
    throw std::runtime_error(
        "setup timed out after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(budget).count()) + " s (" +
        std::to_string(st->ready) + " of " + std::to_string(st->pairs.size()) + " pairs ready)");
  }
  if (st->failed || run.errors.count() > errors_before) {
    throw std::runtime_error("setup failed (" + std::to_string(st->ready) + " of " +
                             std::to_string(st->pairs.size()) + " pairs ready)");
  }
  co_return std::move(st->pairs);
}

void start_idle(Run& run, const std::shared_ptr<Client>& client) {
  Run* r = &run;
  client->start(
      [r](std::string_view frame) {
        if (r->target->classify(frame) == Kind::kError) {
          r->errors.add("unexpected message: " + excerpt(frame));
        }
      },
      [r](bool expected, const std::string& why) {
        if (!expected) r->errors.add("connection ended: " + why);
      });
}

}  // namespace lg
