// JsonFileStore: load and replay the JSON-lines file, then append changes on a writer thread.
#include "store/json_file_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>

#include "store/record_json.hpp"

namespace ws::store {

namespace detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace detail

namespace {

using detail::BadLine;
using detail::UniqueFd;
using Workspaces = std::map<core::WorkspaceId, core::WorkspaceRecord>;

/// The most bytes of changes one write and sync takes from the queue.
constexpr std::size_t kMaxBatchBytes = 1 << 20;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

tl::unexpected<core::Error> internal(std::string message) {
  return core::fail(core::ErrorCode::kInternal, std::move(message));
}

/// "<path>: <strerror>", the shape of every I/O error of the store.
tl::unexpected<core::Error> io_error(const std::string& path, int error) {
  return internal(path + ": " + std::system_category().message(error));
}

std::string directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// ---- POSIX file helpers ----

core::Result<void> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

/// The whole file, or nullopt when it does not exist.
core::Result<std::optional<std::string>> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return io_error(path, errno);
  }
  std::string contents;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, errno);
    }
    if (n == 0) return contents;
    contents.append(buffer, static_cast<std::size_t>(n));
  }
}

/// Makes a rename or link in `dir` durable.
core::Result<void> sync_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return io_error(dir, errno);
  return {};
}

core::Result<void> write_durably(const std::string& path, std::string_view contents) {
  // 0600: the file holds PIN hashes and invite tokens.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return io_error(path, errno);
  auto written = write_all(fd.get(), contents, path);
  if (written && ::fsync(fd.get()) != 0) return io_error(path, errno);
  return written;
}

/// Replaces `path` with `contents` atomically: a crash leaves the old file or the new one,
/// never a mix (write "<path>.tmp", fsync, rename over `path`, fsync the directory).
core::Result<void> replace_file(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  auto written = write_durably(tmp, contents);
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0) written = io_error(path, errno);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  return sync_directory(directory_of(path));
}

// ---- replay ----

struct Line {
  std::string_view text;  // without its "\n"
  bool terminated = false;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back({text, false});
      break;
    }
    lines.push_back({text.substr(0, end), true});
    text.remove_prefix(end + 1);
  }
  return lines;
}

core::Result<core::Change> read_record(const Line& line, const ReadContext& context) {
  // A line is only complete with its "\n": appends end with it, so a line without one is cut.
  if (!line.terminated) return internal("no newline at the end");
  return parse_change(line.text, context);
}

}  // namespace

namespace detail {

core::Result<Replay> replay(std::string_view text, std::int64_t now_ms) {
  Replay out;
  const std::vector<Line> lines = split_lines(text);
  if (lines.empty()) return out;

  // The header is written by an atomic rename, never appended, so it cannot be torn.
  auto version = parse_header(lines[0].text);
  if (version && !lines[0].terminated) version = internal("the header has no newline");
  if (!version) {
    out.corrupt = BadLine{1, version.error().message};
    return out;
  }
  if (*version > kFormatVersion) {
    return internal("written by a newer version (" + std::to_string(*version) +
                    ") of the store format; this server reads version " +
                    std::to_string(kFormatVersion));
  }

  const ReadContext context{*version, now_ms};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto change = read_record(lines[i], context);
    if (change) {
      core::apply_change(out.workspaces, std::move(*change));
      ++out.records;
      continue;
    }
    BadLine bad{i + 1, change.error().message};
    // Appends only ever tear at the end of the file: a bad last line is an interrupted
    // append, a bad line anywhere else is damage (PROTOCOL.md §8).
    if (i + 1 == lines.size()) {
      out.torn_bytes = lines[i].text.size() + (lines[i].terminated ? 1 : 0);
      out.torn = std::move(bad);
    } else {
      out.corrupt = std::move(bad);
    }
    break;
  }
  return out;
}

}  // namespace detail

namespace {

std::string count_records(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " record" : " records");
}

/// One line: the app prints it and exits.
std::string corruption_message(const std::string& path, const BadLine& bad, std::size_t kept) {
  return path + ":" + std::to_string(bad.number) + ": " + bad.what +
         "; the file is left untouched (start with --repair to move it aside and keep the " +
         count_records(kept) + " before it)";
}

}  // namespace

JsonFileStore::JsonFileStore(JsonFileOptions options, LogFn log)
    : options_(std::move(options)), log_(std::move(log)) {}

JsonFileStore::~JsonFileStore() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

core::Result<core::Snapshot> JsonFileStore::load() {
  if (lock_fd_.get() >= 0) return internal(options_.path + ": load() called twice");
  if (auto locked = lock_file(); !locked) return tl::unexpected(locked.error());

  auto contents = read_file(options_.path);
  if (!contents) return tl::unexpected(contents.error());
  if (*contents && (*contents)->empty()) {
    log(core::LogLevel::kWarn, "store.empty_file", {{"file", options_.path}});
  }
  auto replayed = detail::replay(contents->value_or(std::string()), now_ms());
  if (!replayed) return internal(options_.path + ": " + replayed.error().message);

  if (replayed->corrupt) {
    if (!options_.repair) {
      return internal(corruption_message(options_.path, *replayed->corrupt, replayed->records));
    }
    auto moved = move_aside(replayed->corrupt->number, replayed->records);
    if (!moved) return tl::unexpected(moved.error());
  }
  if (replayed->torn) {
    log(core::LogLevel::kWarn, "store.torn_tail",
        {{"file", options_.path},
         {"line", std::to_string(replayed->torn->number)},
         {"bytes", std::to_string(replayed->torn_bytes)},
         {"reason", replayed->torn->what}});
  }

  // Rewriting at once also drops a torn tail before anything is appended after it.
  workspaces_ = std::move(replayed->workspaces);
  if (auto written = write_snapshot(); !written) return tl::unexpected(written.error());

  core::Snapshot snapshot;
  snapshot.workspaces.reserve(workspaces_.size());
  for (const auto& [id, record] : workspaces_) snapshot.workspaces.push_back(record);
  writer_ = std::thread([this] { run_writer(); });  // from here on it owns workspaces_
  return snapshot;
}

void JsonFileStore::apply(core::Change change, Done done) {
  if (!writer_.joinable()) {  // no successful load(): there is no file to append to
    if (done) done(internal(options_.path + ": apply() before a successful load()"));
    return;
  }
  std::string line = change_line(change);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(change), std::move(line), std::move(done)});
  }
  wake_.notify_one();
}

JsonFileStore::Stats JsonFileStore::stats() const {
  return {changes_.load(), syncs_.load(), compactions_.load(), bytes_.load(),
          snapshot_bytes_written_.load()};
}

core::Result<void> JsonFileStore::lock_file() {
  const std::string& path = options_.path;
  if (path.empty()) return internal("the store file path is empty");
  const std::string dir = directory_of(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return internal(path + ": the directory " + dir + " does not exist");
  }
  // A sidecar file, not the store file itself: the store file is replaced by renames, and a
  // lock on a replaced inode would no longer exclude anyone.
  const std::string lock_path = path + ".lock";
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return io_error(lock_path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return core::fail(core::ErrorCode::kUnavailable, path + " is in use by another process");
    }
    return io_error(lock_path, errno);
  }
  lock_fd_ = std::move(fd);
  return {};
}

core::Result<void> JsonFileStore::move_aside(std::size_t line, std::size_t kept) {
  const std::string aside = options_.path + ".corrupt-" + std::to_string(now_ms());
  // A hard link rather than a rename: "<file>" keeps every record until the snapshot that
  // load() writes next replaces it, so a crash in between loses nothing. Once that rename is
  // done the result is the same as moving the file.
  if (::link(options_.path.c_str(), aside.c_str()) != 0) return io_error(aside, errno);
  log(core::LogLevel::kWarn, "store.repaired",
      {{"file", options_.path},
       {"moved_to", aside},
       {"line", std::to_string(line)},
       {"records_kept", std::to_string(kept)}});
  return {};
}

core::Result<void> JsonFileStore::write_snapshot() {
  std::string contents = header_line(now_ms());
  for (const auto& [id, record] : workspaces_) contents += put_line(record);
  if (auto replaced = replace_file(options_.path, contents); !replaced) return replaced;

  UniqueFd journal(::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (journal.get() < 0) return io_error(options_.path, errno);
  journal_ = std::move(journal);
  snapshot_bytes_ = contents.size();
  snapshot_bytes_written_ += contents.size();
  journal_bytes_ = 0;
  return {};
}

void JsonFileStore::log(core::LogLevel level, std::string event,
                        std::vector<std::pair<std::string, std::string>> fields) const {
  if (log_) log_(core::Log{level, std::move(event), std::move(fields)});
}

// ---- writer thread ----

void JsonFileStore::run_writer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is written
    // Whatever queued while the previous batch was syncing goes in one write and one sync, up
    // to kMaxBatchBytes: compaction runs between batches, so the journal never outgrows its
    // threshold by more than one batch however long the queue is.
    std::vector<Pending> batch;
    std::size_t bytes = 0;
    while (!queue_.empty() &&
           (batch.empty() || bytes + queue_.front().line.size() <= kMaxBatchBytes)) {
      bytes += queue_.front().line.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    write_batch(batch);
    lock.lock();
  }
}

void JsonFileStore::write_batch(std::vector<Pending>& batch) {
  core::Result<void> result;
  if (healthy_) {
    result = append(batch);
  } else {
    result = internal(failure_);  // a failed fsync may have dropped dirty pages: never retry
  }
  if (result) {
    for (auto& pending : batch) core::apply_change(workspaces_, std::move(pending.change));
  }
  for (auto& pending : batch) {
    if (pending.done) pending.done(result);
  }
  if (result) compact_if_due();
}

core::Result<void> JsonFileStore::append(const std::vector<Pending>& batch) {
  std::string bytes;
  for (const auto& pending : batch) bytes += pending.line;
  auto result = write_all(journal_.get(), bytes, options_.path);
  if (result) {
    ++syncs_;
    if (::fdatasync(journal_.get()) != 0) result = io_error(options_.path, errno);
  }
  if (!result) {
    set_failed(result.error());
    return result;
  }
  journal_bytes_ += bytes.size();
  bytes_ += bytes.size();
  changes_ += batch.size();
  return result;
}

void JsonFileStore::compact_if_due() {
  const std::uint64_t limit =
      std::max<std::uint64_t>(options_.compact_min_bytes, 2 * snapshot_bytes_);
  if (journal_bytes_ <= limit) return;
  const std::uint64_t before = snapshot_bytes_ + journal_bytes_;
  if (auto written = write_snapshot(); !written) {
    set_failed(written.error());
    return;
  }
  ++compactions_;
  log(core::LogLevel::kDebug, "store.compacted",
      {{"file", options_.path},
       {"bytes_before", std::to_string(before)},
       {"bytes_after", std::to_string(snapshot_bytes_)}});
}

void JsonFileStore::set_failed(const core::Error& error) {
  failure_ = error.message;
  healthy_ = false;
  log(core::LogLevel::kWarn, "store.write_failed",
      {{"file", options_.path}, {"error", error.message}});
}

}  // namespace ws::store
