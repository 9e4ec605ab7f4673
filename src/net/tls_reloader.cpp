// TLS certificate reload: load, validate, swap for new connections; stat()-polling of the files.
#include "net/detail/tls_reloader.hpp"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <utility>

#include <sys/stat.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "net/detail/tls_context.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"

namespace ws::net::detail {

namespace asio = boost::asio;

namespace {

std::int64_t nanoseconds(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

std::string utc_text(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", tm);
}

std::vector<std::string> paths_of(const ServerOptions& options) {
  std::vector<std::string> paths{options.tls_key_file, options.tls_cert_file};
  if (!options.tls_ca_file.empty()) paths.push_back(options.tls_ca_file);
  return paths;
}

LogFields fields_of(const TlsCertificate& cert) {
  return {{"subject", cert.subject},
          {"serial", cert.serial},
          {"sha256", cert.sha256},
          {"not_after", utc_text(cert.not_after)}};
}

}  // namespace

std::vector<FileStamp> stamp_files(const std::vector<std::string>& paths) {
  std::vector<FileStamp> stamps;
  stamps.reserve(paths.size());
  for (const std::string& path : paths) {
    struct stat st {};
    FileStamp stamp;
    if (::stat(path.c_str(), &st) != 0) {
      stamp.error = errno;
    } else {
      stamp.device = static_cast<std::uint64_t>(st.st_dev);
      stamp.inode = static_cast<std::uint64_t>(st.st_ino);
      stamp.size = static_cast<std::int64_t>(st.st_size);
      stamp.mtime_ns = nanoseconds(st.st_mtim);
      stamp.ctime_ns = nanoseconds(st.st_ctim);
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

TlsReloader::TlsReloader(asio::any_io_executor executor, std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      paths_(paths_of(state_->options)),
      strand_(asio::make_strand(std::move(executor))),
      timer_(strand_) {}

core::Result<std::shared_ptr<TlsReloader>> TlsReloader::open(asio::any_io_executor executor,
                                                             std::shared_ptr<ServerState> state) {
  std::shared_ptr<TlsReloader> self(new TlsReloader(std::move(executor), std::move(state)));
  std::vector<FileStamp> stamps;
  auto loaded = self->load_files(stamps);
  if (!loaded) return tl::unexpected(loaded.error());
  self->state_->tls.set(std::move(loaded->ctx));
  self->current_ = loaded->certificate;
  self->stamps_ = std::move(stamps);
  if (Metrics* metrics = self->state_->options.metrics) {
    metrics->tls_certificate_not_after(self->current_.not_after);
  }
  log_event(spdlog::level::info, "tls.loaded", fields_of(self->current_));
  return self;
}

core::Result<TlsReloader::Loaded> TlsReloader::load_files(std::vector<FileStamp>& stamps) const {
  const ServerOptions& o = state_->options;
  // Stamped before reading: a change made while we read is seen as a change by the next check.
  stamps = stamp_files(paths_);
  auto ctx = make_tls_context(o.tls_key_file, o.tls_cert_file, o.tls_ca_file);
  if (!ctx) return tl::unexpected(ctx.error());
  auto cert = certificate_of(**ctx);
  if (!cert) {
    return core::fail(
        core::ErrorCode::kInternal,
        fmt::format("TLS certificate file '{}': {}", o.tls_cert_file, cert.error().message));
  }
  return Loaded{std::move(*ctx), std::move(*cert)};
}

core::Result<TlsCertificate> TlsReloader::reload() {
  std::lock_guard lock(mu_);
  Metrics* metrics = state_->options.metrics;
  auto loaded = load_files(stamps_);
  if (loaded) {
    // At startup an expired certificate is served as before (a clock or renewal problem must
    // not stop the server); a reload only ever replaces it with a usable one.
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    if (loaded->certificate.not_after <= now) {
      const std::string expired = utc_text(loaded->certificate.not_after);
      loaded = core::fail(core::ErrorCode::kInternal,
                          fmt::format("TLS certificate file '{}' holds a certificate that "
                                      "expired at {}",
                                      state_->options.tls_cert_file, expired));
    }
  }
  if (!loaded) {
    if (metrics != nullptr) metrics->tls_reload(false);
    log_event(spdlog::level::warn, "tls.reload_failed",
              {{"reason", loaded.error().message}, {"serving_sha256", current_.sha256}});
    return tl::unexpected(loaded.error());
  }
  state_->tls.set(std::move(loaded->ctx));
  current_ = loaded->certificate;
  if (metrics != nullptr) {
    metrics->tls_reload(true);
    metrics->tls_certificate_not_after(current_.not_after);
  }
  log_event(spdlog::level::info, "tls.reloaded", fields_of(current_));
  return current_;
}

void TlsReloader::watch(std::chrono::milliseconds interval) {
  if (interval <= std::chrono::milliseconds::zero()) return;
  asio::post(strand_, [self = shared_from_this(), interval] {
    if (self->stopped_) return;
    self->interval_ = interval;
    self->schedule(interval);
  });
}

void TlsReloader::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
  });
}

void TlsReloader::schedule(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    self->on_tick();
  });
}

void TlsReloader::on_tick() {
  std::vector<FileStamp> now = stamp_files(paths_);
  std::vector<FileStamp> last;
  {
    std::lock_guard lock(mu_);
    last = stamps_;
  }
  if (now == last) {
    pending_.reset();
    return schedule(interval_);
  }
  if (pending_ != now) {
    // Changed since the last look: load only once the files have held still for kSettle.
    pending_ = std::move(now);
    return schedule(kSettle);
  }
  pending_.reset();
  std::string changed;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    if (i < last.size() && now[i] == last[i]) continue;
    if (!changed.empty()) changed += ',';
    changed += paths_[i];
  }
  log_event(spdlog::level::info, "tls.files_changed", {{"files", changed}});
  (void)reload();  // logs and counts its outcome
  schedule(interval_);
}

}  // namespace ws::net::detail
