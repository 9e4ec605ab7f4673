// The scenarios, and the pieces they share (pair setup, idle connections).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "run.hpp"
#include "targets.hpp"

namespace lg {

task<void> relay(Run& run);
task<void> latency(Run& run);
task<void> memory(Run& run);
task<void> churn(Run& run);
task<void> fanout(Run& run);
task<void> pinstorm(Run& run);

/// Runs the scenario named in the options; throws when it cannot run.
task<void> run_scenario(Run& run);

struct PeerPair {
  Peer first, second;  // second.client is null for the odd one out of an odd count
};

/// Opens and registers `connections` connections as pairs (first, second), at most
/// `parallel` pairs being set up at a time (so at most `parallel` handshakes in flight).
/// `on_ready` sees each pair as soon as it is up. Every client goes to run.keep. Throws when
/// any pair fails or the setup budget runs out.
task<std::vector<PeerPair>> setup_pairs(Run& run, long connections, int parallel, bool settle,
                                        std::function<void(PeerPair&)> on_ready = nullptr);

/// Run mode for a connection that only sits there: alerts and unexpected ends are errors.
void start_idle(Run& run, const std::shared_ptr<Client>& client);

}  // namespace lg
