// JsonFileStore: a durable StateStore on one append-only JSON-lines file (PROTOCOL.md §8).
//
// File format, version 2
// ----------------------
// JSON lines: UTF-8, one JSON object per line, every line ends with "\n".
//
//   {"format":"workspaces-store","version":2,"written_ms":1718000000000}
//   {"put":{"id":"k3j9x2","name":"Design","avatar":"","owner":"a1",...}}
//   {"member":{"ws":"k3j9x2","attendee":{"id":"a2","name":"Bo","avatar":"","mic":true,"cam":true}}}
//   {"toggle":{"ws":"k3j9x2","id":"a2","mic":false,"cam":true}}
//   {"left":{"ws":"k3j9x2","former":{"id":"a2","name":"Bo","left_ms":1718000000500}}}
//   {"del":"k3j9x2"}
//
// - Line 1 is the header. "written_ms" (unix ms) is informative. A server refuses a file
//   whose version is newer than the one it writes, even with --repair; it reads version 1
//   (below) and rewrites it as version 2 at once.
// - Every other line is a record, one change of core/state.hpp each, so a change writes bytes
//   in proportion to itself, not to its workspace. Replaying the records in order, each with
//   core::apply_change(), gives the stored state:
//     {"put":W}                                    the whole workspace W (created; snapshots)
//     {"del":"<id>"}                               the workspace is gone (unknown id: fine)
//     {"member":{"ws","attendee":A}}               A joined or re-joined (no longer former)
//     {"toggle":{"ws","id","mic","cam"}}           a member's mic and cam
//     {"left":{"ws","former":F}}                   a member became the newest former member
//     {"forget":{"ws","id"}}                       a member or former member is gone for good
//     {"call":{"ws","call":null|C}}                the call changed
//     {"idle":{"ws","idle_since_ms":null|ms}}      idle_since_ms changed
//   A record about a workspace or attendee that is not there changes nothing.
// - W is {"id","name","avatar","owner","created_ms","pin_hash","invite","members","former",
//   "call","idle_since_ms"}:
//     id, name, avatar, owner, pin_hash, invite   strings ("pin_hash" is the Argon2id
//                                                 string, "" for no PIN)
//     created_ms                                  integer, unix ms
//     members                                     array of A = {"id","name","avatar","mic",
//                                                 "cam"} (strings; mic and cam booleans), in
//                                                 join order
//     former                                      array of F = {"id","name","left_ms"}, oldest
//                                                 first (no avatar: former members keep none)
//     call                                        null, or C = {"id","started_ms",
//                                                 "participants"} (string, integer unix ms,
//                                                 array of ids)
//     idle_since_ms                               null, or integer unix ms
//   Every field is required with that type. Unknown keys are ignored, so a later version can
//   add fields that an older server skips. An attendee id that is neither in members nor in
//   former is revoked (kicked or forgotten).
// - Version 1 had only put and del; its W held former members whole ({"id","name","avatar",
//   "mic","cam"}, read as former members that left at load time) and "revoked" (ignored: a
//   revoked id was never in members or former).
// - The file holds PIN hashes and invite tokens: every rewrite gives it mode 0600.
//
// Durability and recovery
// - A change is appended as one line and fdatasync'ed before its `done` runs; changes that
//   queue during a sync share the next one (group commit).
// - At startup, and whenever the appended lines outgrow max(compact_min_bytes, 2 x the last
//   snapshot), the file is rewritten as a snapshot: the header and one put per workspace,
//   written to "<file>.tmp", fsync'ed, renamed over "<file>", then the directory fsync'ed.
// - A last record line without its "\n", or one that does not parse or validate, is a torn
//   append: it is dropped with a warning. Any other bad line, the header included (it is
//   only ever written by a rename), is corruption: the store refuses to load, names
//   "<file>:<line>" and leaves the file untouched; --repair moves it aside as
//   "<file>.corrupt-<unix ms>" and keeps the records before the first bad line.
// - "<file>.lock" (flock) keeps a second server off the same file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/engine.hpp"
#include "store/state_store.hpp"

namespace ws::store {

struct JsonFileOptions {
  std::string path;                         // config json_storage_file
  bool repair = false;                      // --repair
  std::size_t compact_min_bytes = 1 << 20;  // compact when the journal part exceeds
                                            // max(this, 2 x last snapshot size)
};

namespace detail {
/// An owned POSIX file descriptor (-1: none); closed on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

/// A line of the file that cannot be replayed.
struct BadLine {
  std::size_t number = 0;  // 1-based
  std::string what;
};

/// What replaying the text of a store file gives (the recovery rules above).
struct Replay {
  std::map<core::WorkspaceId, core::WorkspaceRecord> workspaces;
  std::size_t records = 0;         // record lines replayed into `workspaces`
  std::optional<BadLine> corrupt;  // the first bad line, when it is not the last one
  std::optional<BadLine> torn;     // the last line, when it is bad: dropped
  std::size_t torn_bytes = 0;      // its length, "\n" included if present
};

/// Replays the text of a store file without touching any file: load() reads the file and
/// hands it over, the fuzzer (fuzz/store_fuzz.cpp) hands over any bytes. Bad lines are
/// reported in the result; the error is a header of a newer version, which no repair may throw
/// away. Pure and thread-safe.
/// `now_ms` is the time given to the former members of a version 1 file.
core::Result<Replay> replay(std::string_view text, std::int64_t now_ms = 0);
}  // namespace detail

/// Receives warnings and info lines; they never hold secrets or PIN hashes.
using LogFn = std::function<void(core::Log)>;

/// The state in one JSON-lines file (format above). load() runs once, on the thread that then
/// calls apply() (the Engine's strand). A writer thread, started by load(), appends, syncs
/// and calls each `done` in change order; `log` is called from both threads. Holds the file's
/// lock from load() until destruction.
class JsonFileStore final : public StateStore {
 public:
  JsonFileStore(JsonFileOptions options, LogFn log);
  /// Writes what is queued and calls its dones, then stops the writer thread.
  ~JsonFileStore() override;
  JsonFileStore(const JsonFileStore&) = delete;
  JsonFileStore& operator=(const JsonFileStore&) = delete;

  core::Result<core::Snapshot> load() override;
  void apply(core::Change change, Done done) override;
  /// False after any write, sync or compaction error; it never becomes true again.
  bool healthy() const override { return healthy_; }
  std::string name() const override { return "json-file"; }

  /// Counters since construction: changes written, fdatasync calls on the journal,
  /// compactions, bytes appended by apply(), and bytes of snapshots. Thread-safe.
  using Stats = StoreStats;
  Stats stats() const override;

 private:
  struct Pending {
    core::Change change;
    std::string line;
    Done done;
  };

  core::Result<void> lock_file();
  core::Result<void> move_aside(std::size_t line, std::size_t kept);
  core::Result<void> write_snapshot();
  void log(core::LogLevel level, std::string event,
           std::vector<std::pair<std::string, std::string>> fields) const;

  void run_writer();
  void write_batch(std::vector<Pending>& batch);
  core::Result<void> append(const std::vector<Pending>& batch);
  void compact_if_due();
  void set_failed(const core::Error& error);

  const JsonFileOptions options_;
  const LogFn log_;
  detail::UniqueFd lock_fd_;  // set by load(), then untouched until destruction

  // Owned by load() until it starts the writer thread, then by the writer thread alone.
  detail::UniqueFd journal_;                                       // `path` opened O_APPEND
  std::map<core::WorkspaceId, core::WorkspaceRecord> workspaces_;  // the latest records
  std::uint64_t snapshot_bytes_ = 0;                               // size of the last snapshot
  std::uint64_t journal_bytes_ = 0;  // appended since the last snapshot
  std::string failure_;              // the first write error, once healthy_ is false

  std::mutex mutex_;
  std::condition_variable wake_;  // queue_ grew or stopping_ was set
  std::deque<Pending> queue_;     // guarded by mutex_; taken from the front
  bool stopping_ = false;         // guarded by mutex_
  std::thread writer_;            // started by load(), joined by the destructor

  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> changes_{0}, syncs_{0}, compactions_{0}, bytes_{0},
      snapshot_bytes_written_{0};
};

}  // namespace ws::store
