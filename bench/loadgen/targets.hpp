// Protocol adapters: how each server under test is connected to, registered with, and fed
// relay frames. The scenarios only talk to this interface (plus the workspaces helpers below
// for the scenarios only our server has).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "client.hpp"
#include "run.hpp"

namespace lg {

/// One registered connection.
struct Peer {
  std::shared_ptr<Client> client;
  std::string id;      // attendee id (workspaces) or peer id (peerjs, bare)
  std::string token;   // accessToken (workspaces)
  std::string invite;  // workspace token, on the owner (workspaces)
};

/// What a message received under load is.
enum class Kind { kRelay, kIgnore, kError };

class Target {
 public:
  virtual ~Target() = default;
  /// Connects and registers the first of pair `index` (workspaces: creates a workspace).
  virtual task<Peer> open_first(Run& run, int index) = 0;
  /// Connects and registers the second of pair `index` (workspaces: attends first's workspace).
  virtual task<Peer> open_second(Run& run, int index, const Peer& first) = 0;
  /// Waits for the setup traffic still due (workspaces: the owner's `attend` push).
  virtual task<void> settle(Run& run, Peer& first, Peer& second);
  /// A relay frame from `from` to `to` of about `size` bytes; kinds 0 and 1 alternate
  /// (offer-like and candidate-like). It has a timestamp slot.
  virtual Frame relay_frame(const Peer& from, const Peer& to, int kind, int size) const = 0;
  virtual Kind classify(std::string_view frame) const = 0;
  /// Sent to idle registrations every few seconds when not empty (PeerJS drops a client
  /// that is silent for alive_timeout, as its own client does).
  virtual std::string_view heartbeat() const { return {}; }
  /// Churn: prepares `loops` loops, then runs one cycle of a loop.
  virtual task<void> churn_setup(Run& run, int loops);
  virtual task<void> churn_cycle(Run& run, int loop, long cycle) = 0;
};

std::unique_ptr<Target> make_target(const Options& options);

// --- our server's protocol, for fanout and pinstorm ---
namespace wsp {

/// Sends `message` (which has an integer "id") and returns the data of the reply with that
/// "re", which must be `reply_event`; an `alert` or another reply throws. Pushes are skipped.
task<boost::json::object> request(Client& c, const boost::json::object& message,
                                  std::string_view reply_event, milliseconds timeout);
/// Reads until a push `event` arrives (an alert throws).
task<boost::json::object> wait_event(Client& c, std::string_view event, milliseconds timeout);
/// A new connection that creates a workspace (with a PIN when `pin` is not empty).
task<Peer> create(Run& run, std::string_view pin = {});
/// A new connection (or `c`, when given) that attends the workspace whose invite is `invite`.
task<Peer> attend(Run& run, const std::string& invite, std::string_view pin = {},
                  std::shared_ptr<Client> c = nullptr);
task<void> leave(Run& run, Client& c, const std::string& access_token);
/// The attendee id of a push like `{"event":"mic-toggle","data":{"attendee":{"id":"X"}...`.
std::string_view attendee_id(std::string_view frame);

}  // namespace wsp
}  // namespace lg
