// Structured log lines on top of spdlog.
#include "net/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace ws::net {

namespace {
bool g_json = false;  // written once at startup, before any thread starts

// spdlog's registry is created on first use. Create it during static initialisation, on the
// main thread, so it never happens first on an I/O thread racing another (TSan reports that
// race because libspdlog is not instrumented).
[[maybe_unused]] const spdlog::logger* const kRegistryReady = spdlog::default_logger_raw();

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}
}  // namespace

void init_logging(bool json, spdlog::level::level_enum level) {
  g_json = json;
  auto logger = spdlog::stdout_logger_mt("workspaces");
  if (json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void log_event(const core::Log& line) {
  spdlog::level::level_enum level = spdlog::level::info;
  switch (line.level) {
    case core::LogLevel::kDebug:
      level = spdlog::level::debug;
      break;
    case core::LogLevel::kInfo:
      level = spdlog::level::info;
      break;
    case core::LogLevel::kWarn:
      level = spdlog::level::warn;
      break;
  }
  log_event(level, line.event, line.fields);
}

void log_event(spdlog::level::level_enum level, std::string_view event, const LogFields& fields) {
  if (!spdlog::should_log(level)) return;
  std::string line;
  if (g_json) {
    line += "\"event\":";
    line += boost::json::serialize(boost::json::string(event));
    for (const auto& [k, v] : fields) {
      line += ',';
      line += boost::json::serialize(boost::json::string(k));
      line += ':';
      line += boost::json::serialize(boost::json::string(v));
    }
  } else {
    line += event;
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      line += needs_quotes(v) ? boost::json::serialize(boost::json::string(v)) : v;
    }
  }
  spdlog::log(level, "{}", line);
}

void log_message(spdlog::level::level_enum level, std::string_view message) {
  if (!spdlog::should_log(level)) return;
  if (g_json) {
    spdlog::log(level, "\"msg\":{}", boost::json::serialize(boost::json::string(message)));
  } else {
    spdlog::log(level, "{}", message);
  }
}

void log_banner(std::string_view message) {
  auto logger = spdlog::default_logger();
  const auto level = logger->level();
  logger->set_level(spdlog::level::info);
  log_message(spdlog::level::info, message);
  logger->set_level(level);
}

}  // namespace ws::net
