// Certificate reload while the server runs: on request (SIGHUP, Server::reload_tls()) and when
// the key, certificate or CA file changes on disk, polled with stat() (docs/protocol.md §11).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/error.hpp"
#include "net/detail/server_state.hpp"
#include "net/server.hpp"

namespace ws::net::detail {

/// What stat() says of one file: enough to see it rewritten in place, replaced by a rename,
/// or, since stat() follows symbolic links, a link pointed at another file (certbot's
/// live/ -> archive/ links).
struct FileStamp {
  int error = 0;  // errno of a failed stat(), else 0
  std::uint64_t device = 0, inode = 0;
  std::int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

/// The stamps of `paths`, in order.
std::vector<FileStamp> stamp_files(const std::vector<std::string>& paths);

/// Loads the key, certificate and CA files of state->options into state->tls, and again on
/// request or when they change. Built by Server::open(), owned by the Server. Its watch timer
/// runs on a strand of its own and keeps the object alive until stop() or the io_context's
/// destruction.
class TlsReloader : public std::enable_shared_from_this<TlsReloader> {
 public:
  /// A change must hold still this long before it is loaded, so a key and a certificate written
  /// one after the other are loaded together, not the new key with the old certificate. A
  /// change is thus served within the watch interval + kSettle.
  static constexpr std::chrono::milliseconds kSettle{1000};

  /// The startup load: the same checks and error messages as make_tls_context().
  static core::Result<std::shared_ptr<TlsReloader>> open(boost::asio::any_io_executor executor,
                                                         std::shared_ptr<ServerState> state);

  /// Server::reload_tls(): the files are loaded again and, when valid and not expired, given to
  /// new connections; otherwise the current context stays. Logs and counts the outcome.
  /// Thread-safe; reloads run one at a time.
  core::Result<TlsCertificate> reload();

  /// Checks the files every `interval` (0: never) and reloads them once a change has settled.
  /// Any thread; call at most once.
  void watch(std::chrono::milliseconds interval);
  /// Stops watching. Any thread.
  void stop();

 private:
  struct Loaded {
    std::shared_ptr<boost::asio::ssl::context> ctx;
    TlsCertificate certificate;
  };

  TlsReloader(boost::asio::any_io_executor executor, std::shared_ptr<ServerState> state);
  core::Result<Loaded> load_files(std::vector<FileStamp>& stamps) const;
  void schedule(std::chrono::milliseconds delay);
  void on_tick();

  const std::shared_ptr<ServerState> state_;
  const std::vector<std::string> paths_;  // key, certificate and, when set, CA file

  std::mutex mu_;                  // guards current_ and stamps_; held during a reload
  TlsCertificate current_;         // the certificate new connections get
  std::vector<FileStamp> stamps_;  // the files as they were at the last load attempt

  // The watch: touched only on strand_.
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_{0};
  std::optional<std::vector<FileStamp>> pending_;  // a change seen, waiting to settle
  bool stopped_ = false;
};

}  // namespace ws::net::detail
