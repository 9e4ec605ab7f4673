// Tests of config loading (defaults, precedence, validation), startup checks and describe().
#include "config/config.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/temp_dir.hpp"

namespace ws::config {
namespace {

using test_util::CurrentDirGuard;
using test_util::TempDir;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

/// A value no message may ever contain.
constexpr const char* kMarker = "MARKER-5ecret-9f31c";

CliOptions with_config(std::string path) {
  CliOptions cli;
  cli.config_path = std::move(path);
  return cli;
}

CliOptions with_env_file(std::string path) {
  CliOptions cli;
  cli.env_file_path = std::move(path);
  return cli;
}

/// Runs load() inside `dir` (so ./config.json and ./.env are looked up there).
core::Result<Loaded> load_in(const TempDir& dir, const CliOptions& cli,
                             const Environment& env = {}) {
  CurrentDirGuard cwd(dir.path());
  return load(cli, env);
}

/// load() with only a config file holding `json`; the error or the Loaded.
core::Result<Loaded> load_json(const std::string& json) {
  TempDir dir;
  return load_in(dir, with_config(dir.write("config.json", json)));
}

/// A Config that passes check() in production with no warnings about secrets.
Config production_config() {
  Config c;
  c.magick_token = std::string(40, 'm');
  c.salt_string = std::string(40, 's');
  return c;
}

RandomSecretFn counting_generator(int& calls) {
  return [&calls] { return "generated-" + std::to_string(++calls); };
}

// ---- defaults ----

TEST(Defaults, MatchProtocolSections9And10) {
  const Config c;
  EXPECT_EQ(c.port, 9090);
  EXPECT_FALSE(c.enable_https);
  EXPECT_EQ(c.magick_token, "");
  EXPECT_EQ(c.salt_string, "");
  EXPECT_FALSE(c.development);
  EXPECT_EQ(c.twilio_account_sid, "");
  EXPECT_EQ(c.twilio_auth_token, "");
  EXPECT_EQ(c.twilio_api_base, "https://api.twilio.com");
  EXPECT_EQ(c.turn_secret, "");
  EXPECT_EQ(c.redis_url, "");
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.token_delimiter, ":");
  EXPECT_EQ(c.workspace_id_len, 10);
  EXPECT_EQ(c.untitled_workspace, "Anonymous Workspace");
  EXPECT_EQ(c.default_workspace_avatar, "");
  EXPECT_EQ(c.anonymous_attendee, "Anonymous");
  EXPECT_EQ(c.default_attendee_avatar, "");
  EXPECT_EQ(c.https.key, "");
  EXPECT_EQ(c.https.cert, "");
  EXPECT_EQ(c.https.ca, "");
  EXPECT_EQ(c.json_storage_file, "");
  EXPECT_EQ(c.max_capacity_of_workspace, 5);
  EXPECT_EQ(c.bind_address, "0.0.0.0");
  EXPECT_EQ(c.reconnect_grace_seconds, 30);
  EXPECT_EQ(c.ring_timeout_seconds, 45);
  EXPECT_EQ(c.access_token_ttl_seconds, 86400);
  EXPECT_EQ(c.max_former_per_workspace, 1000);
  EXPECT_EQ(c.max_frame_bytes, 65536);
  EXPECT_EQ(c.max_bad_frames, 20);
  EXPECT_EQ(c.ping_interval_ms, 25000);
  EXPECT_EQ(c.ping_timeout_ms, 20000);
  EXPECT_EQ(c.shutdown_drain_seconds, 10);
  EXPECT_EQ(c.max_queue_bytes, 1048576);
  EXPECT_EQ(c.pin_max_failures, 5);
  EXPECT_EQ(c.pin_failure_window_seconds, 60);
  EXPECT_EQ(c.pin_max_failures_per_workspace, 100);
  EXPECT_EQ(c.pin_hash_queue, 16);
  EXPECT_EQ(c.workspace_idle_ttl_seconds, 2592000);
  EXPECT_EQ(c.tls_watch_interval_ms, 5000);
  EXPECT_THAT(c.turn_urls, IsEmpty());
  EXPECT_THAT(c.stun_urls, IsEmpty());
  EXPECT_EQ(c.turn_ttl_seconds, 86400);
  EXPECT_EQ(c.twilio_timeout_ms, 5000);
  EXPECT_TRUE(c.ice_servers.empty());
  EXPECT_EQ(c.max_connections, 0) << "0: from the descriptor limit";
  EXPECT_EQ(c.max_connections_per_ip, 200);
  EXPECT_EQ(c.new_connections_per_ip_per_second, 50);
  EXPECT_EQ(c.new_connections_per_ip_burst, 100);
  EXPECT_EQ(c.messages_per_second, 100);
  EXPECT_EQ(c.messages_burst, 300);
  EXPECT_EQ(c.workspaces_per_ip_per_hour, 60);
  EXPECT_THAT(c.allowed_origins, IsEmpty());
  EXPECT_EQ(c.handshake_timeout_ms, 5000);
}

TEST(Load, WithNothingToReadGivesTheDefaults) {
  TempDir dir;
  auto loaded = load_in(dir, {});
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->config.port, 9090);
  EXPECT_EQ(loaded->config.max_capacity_of_workspace, 5);
  EXPECT_THAT(loaded->warnings, IsEmpty());
  EXPECT_EQ(loaded->config_file, "");
  EXPECT_EQ(loaded->env_file, "");
}

TEST(Load, EveryDocumentedKeyIsAccepted) {
  auto loaded = load_json(R"({
    "tokenDelimiter": "|", "WORKSPACE_ID_LEN": 12, "untitled_workspace": "Room",
    "default_workspace_avatar": "data:,w", "anonymous_attendee": "Guest",
    "default_attendee_avatar": "data:,a",
    "https": {"key": "/k.pem", "cert": "/c.pem", "ca": "/ca.pem"},
    "json_storage_file": "/var/lib/ws.json", "max_capacity_of_workspace": 8,
    "port": 8080, "bind_address": "127.0.0.1", "log_format": "json", "log_level": "warn",
    "reconnect_grace_seconds": 0, "ring_timeout_seconds": 1, "access_token_ttl_seconds": 60,
    "max_former_per_workspace": 7, "max_frame_bytes": 1024, "max_bad_frames": 1, "ping_interval_ms": 100,
    "ping_timeout_ms": 100, "shutdown_drain_seconds": 0, "max_queue_bytes": 2048,
    "pin_max_failures": 3, "pin_failure_window_seconds": 30,
    "pin_max_failures_per_workspace": 9, "pin_hash_queue": 2,
    "workspace_idle_ttl_seconds": 0, "tls_watch_interval_ms": 0,
    "turn_urls": ["turn:turn.example.com:3478", "turns:turn.example.com:5349"],
    "stun_urls": ["stun:stun.example.com:3478"], "turn_ttl_seconds": 600,
    "twilio_timeout_ms": 750,
    "ice_servers": [{"urls": "stun:s.example.com"},
                    {"urls": ["turn:t.example.com"], "username": "u", "credential": "c"}],
    "max_connections": 10, "max_connections_per_ip": 2,
    "new_connections_per_ip_per_second": 3, "new_connections_per_ip_burst": 4,
    "messages_per_second": 5, "messages_burst": 6, "workspaces_per_ip_per_hour": 7,
    "allowed_origins": ["https://app.example.com"], "handshake_timeout_ms": 1000
  })");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_THAT(loaded->warnings, IsEmpty());
  const Config& c = loaded->config;
  EXPECT_EQ(c.token_delimiter, "|");
  EXPECT_EQ(c.workspace_id_len, 12);
  EXPECT_EQ(c.untitled_workspace, "Room");
  EXPECT_EQ(c.default_workspace_avatar, "data:,w");
  EXPECT_EQ(c.anonymous_attendee, "Guest");
  EXPECT_EQ(c.default_attendee_avatar, "data:,a");
  EXPECT_EQ(c.https.key, "/k.pem");
  EXPECT_EQ(c.https.cert, "/c.pem");
  EXPECT_EQ(c.https.ca, "/ca.pem");
  EXPECT_EQ(c.json_storage_file, "/var/lib/ws.json");
  EXPECT_EQ(c.max_capacity_of_workspace, 8);
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.bind_address, "127.0.0.1");
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.reconnect_grace_seconds, 0);
  EXPECT_EQ(c.ring_timeout_seconds, 1);
  EXPECT_EQ(c.access_token_ttl_seconds, 60);
  EXPECT_EQ(c.max_former_per_workspace, 7);
  EXPECT_EQ(c.max_frame_bytes, 1024);
  EXPECT_EQ(c.max_bad_frames, 1);
  EXPECT_EQ(c.ping_interval_ms, 100);
  EXPECT_EQ(c.ping_timeout_ms, 100);
  EXPECT_EQ(c.shutdown_drain_seconds, 0);
  EXPECT_EQ(c.max_queue_bytes, 2048);
  EXPECT_EQ(c.pin_max_failures, 3);
  EXPECT_EQ(c.pin_max_failures_per_workspace, 9);
  EXPECT_EQ(c.pin_hash_queue, 2);
  EXPECT_EQ(c.pin_failure_window_seconds, 30);
  EXPECT_EQ(c.workspace_idle_ttl_seconds, 0) << "0 = never";
  EXPECT_EQ(c.tls_watch_interval_ms, 0) << "0 = SIGHUP only";
  EXPECT_THAT(c.turn_urls,
              ElementsAre("turn:turn.example.com:3478", "turns:turn.example.com:5349"));
  EXPECT_THAT(c.stun_urls, ElementsAre("stun:stun.example.com:3478"));
  EXPECT_EQ(c.turn_ttl_seconds, 600);
  EXPECT_EQ(c.twilio_timeout_ms, 750);
  ASSERT_EQ(c.ice_servers.size(), 2u);
  EXPECT_EQ(c.ice_servers[1].at("username").as_string(), "u");
  EXPECT_EQ(c.max_connections, 10);
  EXPECT_EQ(c.max_connections_per_ip, 2);
  EXPECT_EQ(c.new_connections_per_ip_per_second, 3);
  EXPECT_EQ(c.new_connections_per_ip_burst, 4);
  EXPECT_EQ(c.messages_per_second, 5);
  EXPECT_EQ(c.messages_burst, 6);
  EXPECT_EQ(c.workspaces_per_ip_per_hour, 7);
  EXPECT_THAT(c.allowed_origins, ElementsAre("https://app.example.com"));
  EXPECT_EQ(c.handshake_timeout_ms, 1000);
}

// ---- precedence ----

TEST(Precedence, PortFollowsFlagThenEnvironmentThenEnvFileThenConfigFileThenDefault) {
  struct Case {
    std::string name;
    std::optional<int> config_file, env_file, environment, flag;
    int want;
  };
  const Case cases[] = {
      {"default only", {}, {}, {}, {}, 9090},
      {"config file over default", 1001, {}, {}, {}, 1001},
      {"env file over config file", 1001, 1002, {}, {}, 1002},
      {"environment over env file", 1001, 1002, 1003, {}, 1003},
      {"flag over everything", 1001, 1002, 1003, 1004, 1004},
      {"flag over config file alone", 1001, {}, {}, 1004, 1004},
      {"environment over config file", 1001, {}, 1003, {}, 1003},
      {"flag 0 (free port) wins", 1001, 1002, 1003, 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    CliOptions cli;
    Environment env;
    if (c.config_file) {
      cli.config_path = dir.write("c.json", "{\"port\": " + std::to_string(*c.config_file) + "}");
    }
    if (c.env_file) cli.env_file_path = dir.write("e.env", "PORT=" + std::to_string(*c.env_file));
    if (c.environment) env["PORT"] = std::to_string(*c.environment);
    if (c.flag) cli.port = static_cast<std::uint16_t>(*c.flag);
    auto loaded = load_in(dir, cli, env);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->config.port, c.want);
  }
}

TEST(Precedence, LogLevelFollowsEnvironmentThenEnvFileThenConfigFileThenDefault) {
  struct Case {
    std::string name;
    std::optional<std::string> config_file, env_file, environment;
    bool development;
    LogLevel want;
  };
  const Case cases[] = {
      {"default", {}, {}, {}, false, LogLevel::kInfo},
      {"default in development is debug", {}, {}, {}, true, LogLevel::kDebug},
      {"config file over default", "warn", {}, {}, false, LogLevel::kWarn},
      {"config file beats the development default", "info", {}, {}, true, LogLevel::kInfo},
      {"env file over config file", "warn", "error", {}, false, LogLevel::kError},
      {"environment over env file", "warn", "error", "debug", false, LogLevel::kDebug},
      {"environment over config file", "warn", {}, "ERROR", false, LogLevel::kError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    CliOptions cli;
    Environment env;
    if (c.development) env["DEVELOPMENT"] = "true";
    if (c.config_file) {
      cli.config_path = dir.write("c.json", "{\"log_level\": \"" + *c.config_file + "\"}");
    }
    if (c.env_file) cli.env_file_path = dir.write("e.env", "LOG_LEVEL=" + *c.env_file);
    if (c.environment) env["LOG_LEVEL"] = *c.environment;
    auto loaded = load_in(dir, cli, env);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->config.log_level, c.want);
  }
}

TEST(Precedence, DefaultFilesInTheWorkingDirectoryAreRead) {
  TempDir dir;
  dir.write("config.json", R"({"max_capacity_of_workspace": 9})");
  dir.write(".env", "PORT=7070\nDEVELOPMENT=yes\n");
  auto loaded = load_in(dir, {});
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->config.max_capacity_of_workspace, 9);
  EXPECT_EQ(loaded->config.port, 7070);
  EXPECT_TRUE(loaded->config.development);
  EXPECT_EQ(loaded->config_file, "config.json");
  EXPECT_EQ(loaded->env_file, ".env");
}

TEST(Precedence, ExplicitPathsReplaceTheDefaultFiles) {
  TempDir dir;
  dir.write("config.json", R"({"max_capacity_of_workspace": 9})");
  dir.write(".env", "PORT=7070");
  CliOptions cli = with_config(dir.write("other.json", R"({"max_capacity_of_workspace": 3})"));
  cli.env_file_path = dir.write("other.env", "PORT=6060");
  auto loaded = load_in(dir, cli);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->config.max_capacity_of_workspace, 3);
  EXPECT_EQ(loaded->config.port, 6060);
}

TEST(Precedence, EmptyEnvironmentValuesCountAsUnset) {
  TempDir dir;
  CliOptions cli = with_env_file(dir.write("e.env", "PORT=7070\nMAGICK_TOKEN=\n"));
  auto loaded = load_in(dir, cli, {{"PORT", ""}, {"SALT_STRING", ""}});
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->config.port, 7070);
  EXPECT_EQ(loaded->config.magick_token, "");
  EXPECT_EQ(loaded->config.salt_string, "");
}

TEST(Load, ReadsEveryEnvironmentKey) {
  TempDir dir;
  auto loaded = load_in(dir, {},
                        {{"PORT", "1234"},
                         {"ENABLE_HTTPS", "yes"},
                         {"MAGICK_TOKEN", "mt"},
                         {"SALT_STRING", "ss"},
                         {"DEVELOPMENT", "1"},
                         {"TWILIO_ACCOUNT_SID", "sid"},
                         {"TWILIO_AUTH_TOKEN", "tat"},
                         {"TWILIO_API_BASE", "https://127.0.0.1:9/base"},
                         {"TURN_SECRET", "ts"},
                         {"REDIS_URL", "redis://localhost"},
                         {"LOG_FORMAT", "JSON"},
                         {"LOG_LEVEL", "warn"},
                         {"UNRELATED", "ignored"}});
  ASSERT_TRUE(loaded) << loaded.error().message;
  const Config& c = loaded->config;
  EXPECT_EQ(c.port, 1234);
  EXPECT_TRUE(c.enable_https);
  EXPECT_EQ(c.magick_token, "mt");
  EXPECT_EQ(c.salt_string, "ss");
  EXPECT_TRUE(c.development);
  EXPECT_EQ(c.twilio_account_sid, "sid");
  EXPECT_EQ(c.twilio_auth_token, "tat");
  EXPECT_EQ(c.twilio_api_base, "https://127.0.0.1:9/base");
  EXPECT_EQ(c.turn_secret, "ts");
  EXPECT_EQ(c.redis_url, "redis://localhost");
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_THAT(loaded->warnings, IsEmpty());  // the process environment is not linted
}

// ---- files ----

TEST(Load, ExplicitMissingFilesAreErrorsNamingThePath) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.json").string();
  for (const CliOptions& cli : {with_config(missing), with_env_file(missing)}) {
    auto loaded = load_in(dir, cli);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, core::ErrorCode::kNotFound);
    EXPECT_THAT(loaded.error().message, AllOf(HasSubstr(missing), HasSubstr("does not exist")));
  }
}

TEST(Load, JsonSyntaxErrorNamesFileLineAndColumn) {
  TempDir dir;
  const std::string path = dir.write("broken.json", "{\n  \"port\": 1,\n  \"x\": [1,,2]\n}");
  auto loaded = load_in(dir, with_config(path));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message,
              AllOf(HasSubstr(path), HasSubstr("line 3"), HasSubstr("column 11")));
}

TEST(Load, ConfigFileMustHoldAnObject) {
  for (const std::string json : {"[]", "5", "\"x\"", ""}) {
    SCOPED_TRACE("'" + json + "'");
    EXPECT_FALSE(load_json(json));
  }
}

TEST(Load, EnvFileSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  const std::string path = dir.write("bad.env", "PORT=1\nnot a line\n");
  auto loaded = load_in(dir, with_env_file(path));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, AllOf(HasSubstr(path), HasSubstr("line 2")));
}

// ---- unknown keys ----

TEST(UnknownKeys, ConfigFileKeysBecomeWarningsWithSuggestions) {
  struct Case {
    std::string json;
    std::string want;
  };
  const Case cases[] = {
      {R"({"max_capacity": 3})",
       "unknown config key 'max_capacity' in config.json (did you mean "
       "'max_capacity_of_workspace'?)"},
      {R"({"ring_timout_seconds": 3})",
       "unknown config key 'ring_timout_seconds' in config.json (did you mean "
       "'ring_timeout_seconds'?)"},
      {R"({"PORT": 80})", "unknown config key 'PORT' in config.json (did you mean 'port'?)"},
      {R"({"completely_different": 1})",
       "unknown config key 'completely_different' in config.json"},
      {R"({"https": {"keyy": "/k"}})",
       "unknown config key 'https.keyy' in config.json (did you mean 'https.key'?)"},
      {R"({"https": {"passphrase": "x"}})", "unknown config key 'https.passphrase' in config.json"},
      {R"({"ice_servers": [{"urls": "stun:x", "credentials": "c"}]})",
       "unknown config key 'ice_servers[0].credentials' in config.json (did you mean "
       "'ice_servers[0].credential'?)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    TempDir dir;
    dir.write("config.json", c.json);
    auto loaded = load_in(dir, {});
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_THAT(loaded->warnings, ElementsAre(c.want));
  }
}

TEST(UnknownKeys, SecretsInTheConfigFileAreRejectedWithAHintAndNotRead) {
  for (const std::string key : {"MAGICK_TOKEN", "salt_string", "TURN_SECRET", "TWILIO_AUTH_TOKEN",
                                "DEVELOPMENT", "enable_https"}) {
    SCOPED_TRACE(key);
    TempDir dir;
    dir.write("config.json", "{\"" + key + "\": \"" + kMarker + "\"}");
    auto loaded = load_in(dir, {});
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_EQ(loaded->warnings.size(), 1u);
    EXPECT_THAT(loaded->warnings[0], AllOf(HasSubstr("unknown config key '" + key + "'"),
                                           HasSubstr("set it in the environment or the .env file"),
                                           Not(HasSubstr(kMarker))));
    EXPECT_EQ(loaded->config.magick_token, "");
    EXPECT_EQ(loaded->config.turn_secret, "");
  }
}

TEST(UnknownKeys, EnvFileKeysBecomeWarnings) {
  struct Case {
    std::string line;
    std::string want;
  };
  const Case cases[] = {
      {"MAGIC_TOKEN=x", "unknown key 'MAGIC_TOKEN' in e.env (did you mean 'MAGICK_TOKEN'?)"},
      {"MAX_CAPACITY_OF_WORKSPACE=9",
       "unknown key 'MAX_CAPACITY_OF_WORKSPACE' in e.env (max_capacity_of_workspace is a config "
       "file key: set it in the config file)"},
      {"NODE_ENV=production", "unknown key 'NODE_ENV' in e.env"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    TempDir dir;
    dir.write("e.env", c.line);
    auto loaded = load_in(dir, with_env_file("e.env"));
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_THAT(loaded->warnings, ElementsAre(c.want));
  }
}

// ---- types and ranges ----

TEST(Validation, WrongTypeIsAnErrorNamingTheKey) {
  struct Case {
    std::string key;
    std::string value;  // JSON
  };
  std::vector<Case> cases;
  for (const char* key : {"port",
                          "WORKSPACE_ID_LEN",
                          "max_capacity_of_workspace",
                          "reconnect_grace_seconds",
                          "ring_timeout_seconds",
                          "access_token_ttl_seconds",
                          "max_frame_bytes",
                          "max_bad_frames",
                          "ping_interval_ms",
                          "ping_timeout_ms",
                          "shutdown_drain_seconds",
                          "max_queue_bytes",
                          "pin_max_failures",
                          "pin_failure_window_seconds",
                          "pin_max_failures_per_workspace",
                          "pin_hash_queue",
                          "workspace_idle_ttl_seconds",
                          "tls_watch_interval_ms",
                          "turn_ttl_seconds",
                          "twilio_timeout_ms",
                          "max_connections",
                          "max_connections_per_ip",
                          "new_connections_per_ip_per_second",
                          "new_connections_per_ip_burst",
                          "messages_per_second",
                          "messages_burst",
                          "workspaces_per_ip_per_hour",
                          "handshake_timeout_ms"}) {
    for (const char* wrong : {"\"100\"", "100.0", "1e3", "true", "null", "[100]", "{}"}) {
      cases.push_back({key, wrong});
    }
  }
  for (const char* key : {"tokenDelimiter", "untitled_workspace", "default_workspace_avatar",
                          "anonymous_attendee", "default_attendee_avatar", "json_storage_file",
                          "bind_address", "log_format", "log_level"}) {
    for (const char* wrong : {"5", "false", "[\"x\"]", "{}", "null"}) cases.push_back({key, wrong});
  }
  for (const char* key : {"turn_urls", "stun_urls", "allowed_origins", "ice_servers"}) {
    for (const char* wrong : {"\"x\"", "5", "{}", "true"}) cases.push_back({key, wrong});
  }
  for (const char* wrong : {"\"/k.pem\"", "5", "[]"}) cases.push_back({"https", wrong});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + " = " + c.value);
    auto loaded = load_json("{\"" + c.key + "\": " + c.value + "}");
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, core::ErrorCode::kBadRequest);
    EXPECT_THAT(loaded.error().message, AllOf(HasSubstr("config.json: " + c.key + " must be")));
    EXPECT_EQ(loaded.error().field, c.key);
  }
}

TEST(Validation, WrongTypeInsideAValueNamesTheDottedPath) {
  struct Case {
    std::string json;
    std::string want;
  };
  const Case cases[] = {
      {R"({"https": {"key": 5}})", "https.key must be a string"},
      {R"({"https": {"ca": null}})", "https.ca must be a string"},
      {R"({"turn_urls": ["turn:a", 5]})", "turn_urls[1] must be a string"},
      {R"({"allowed_origins": [""]})", "allowed_origins[0] must not be empty"},
      {R"({"allowed_origins": ["https://a.example", "app.example.com"]})",
       "allowed_origins[1] must be an origin like https://app.example.com"},
      {R"({"allowed_origins": ["https://a.example/app"]})", "allowed_origins[0] must be an origin"},
      {R"({"allowed_origins": ["https://a.example?x=1"]})", "allowed_origins[0] must be an origin"},
      {R"({"allowed_origins": ["https://user@a.example"]})",
       "allowed_origins[0] must be an origin"},
      {R"({"turn_urls": ["stun:a"]})", "turn_urls[0] must start with turn: or turns:"},
      {R"({"stun_urls": ["turn:a"]})", "stun_urls[0] must start with stun: or stuns:"},
      {R"({"ice_servers": [5]})", "ice_servers[0] must be an object"},
      {R"({"ice_servers": [{}]})", "ice_servers[0].urls is required"},
      {R"({"ice_servers": [{"urls": 5}]})", "ice_servers[0].urls must be a string or an array"},
      {R"({"ice_servers": [{"urls": []}]})", "ice_servers[0].urls must not be empty"},
      {R"({"ice_servers": [{"urls": [7]}]})", "ice_servers[0].urls[0] must be a string"},
      {R"({"ice_servers": [{"urls": "http://x"}]})",
       "ice_servers[0].urls[0] must start with stun:, stuns:, turn: or turns:"},
      {R"({"ice_servers": [{"urls": "stun:x"}, {"urls": "stun:y", "username": 1}]})",
       "ice_servers[1].username must be a string"},
      {R"({"ice_servers": [{"urls": "turn:x", "username": "u"}]})",
       "ice_servers[0] has a turn: URL and so needs both username and credential"},
      {R"({"log_format": "xml"})", "log_format must be one of \"text\", \"json\" (got \"xml\")"},
      {R"({"log_level": "verbose"})", "log_level must be one of"},
      {R"({"tokenDelimiter": ""})", "tokenDelimiter must not be empty"},
      {R"({"untitled_workspace": ""})", "untitled_workspace must not be empty"},
      {R"({"bind_address": ""})", "bind_address must not be empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    auto loaded = load_json(c.json);
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr(c.want));
  }
}

TEST(Validation, OutOfRangeIntegersNameTheKeyAndTheRange) {
  struct Case {
    std::string key;
    std::string value;
    std::string range;
  };
  const Case cases[] = {
      {"WORKSPACE_ID_LEN", "5", "between 6 and 64"},
      {"WORKSPACE_ID_LEN", "65", "between 6 and 64"},
      {"port", "65536", "between 0 and 65535"},
      {"port", "-1", "between 0 and 65535"},
      {"max_capacity_of_workspace", "0", "between 1 and"},
      {"reconnect_grace_seconds", "-1", "between 0 and"},
      {"ring_timeout_seconds", "0", "between 1 and"},
      {"access_token_ttl_seconds", "59", "between 60 and"},
      {"max_former_per_workspace", "-1", "between 0 and 1000000"},
      {"max_former_per_workspace", "1000001", "between 0 and 1000000"},
      {"max_frame_bytes", "1023", "between 1024 and 16777216"},
      {"max_frame_bytes", "16777217", "between 1024 and 16777216"},
      {"max_bad_frames", "0", "between 1 and"},
      {"ping_interval_ms", "99", "between 100 and"},
      {"ping_timeout_ms", "99", "between 100 and"},
      {"shutdown_drain_seconds", "-5", "between 0 and"},
      {"turn_ttl_seconds", "59", "between 60 and"},
      {"workspace_idle_ttl_seconds", "-1", "between 0 and"},
      {"tls_watch_interval_ms", "-1", "between 0 and"},
      {"twilio_timeout_ms", "99", "between 100 and 60000"},
      {"twilio_timeout_ms", "60001", "between 100 and 60000"},
      {"max_connections", "-1", "between 0 and"},
      {"messages_burst", "0", "between 1 and"},
      {"handshake_timeout_ms", "0", "between 100 and"},
      {"max_connections", "18446744073709551615", "between 0 and 2147483647"},
      {"reconnect_grace_seconds", "2147483648", "between 0 and 2147483647"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + " = " + c.value);
    auto loaded = load_json("{\"" + c.key + "\": " + c.value + "}");
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, AllOf(HasSubstr(c.key + " must be an integer " + c.range),
                                              HasSubstr("(got " + c.value + ")")));
  }
}

TEST(Load, TheRepairFlagReachesTheConfig) {
  TempDir dir;
  CliOptions cli;
  EXPECT_FALSE(load_in(dir, cli)->config.repair);
  cli.repair = true;
  auto loaded = load_in(dir, cli);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(loaded->config.repair);
}

TEST(Validation, EnvironmentValuesAreChecked) {
  struct Case {
    std::string key;
    std::string value;
    std::string want;
  };
  const Case cases[] = {
      {"PORT", "65536", "environment: PORT must be an integer between 0 and 65535 (got '65536')"},
      {"PORT", "http", "PORT must be an integer between 0 and 65535"},
      {"ENABLE_HTTPS", "maybe", "environment: ENABLE_HTTPS must be true/false, 1/0 or yes/no"},
      {"DEVELOPMENT", "on", "DEVELOPMENT must be true/false, 1/0 or yes/no (got 'on')"},
      {"LOG_FORMAT", "xml", "LOG_FORMAT must be text or json"},
      {"LOG_LEVEL", "trace", "LOG_LEVEL must be debug, info, warn or error"},
      {"TWILIO_API_BASE", "api.twilio.com", "TWILIO_API_BASE must be an https:// URL"},
      {"TWILIO_API_BASE", "http://127.0.0.1:9", "TWILIO_API_BASE must be an https:// URL"},
      {"TWILIO_API_BASE", "https://", "TWILIO_API_BASE must be an https:// URL"},
      {"TWILIO_API_BASE", "https://sid:tok@api.twilio.com", "must not hold credentials"},
      {"TWILIO_API_BASE", "https://api.twilio.com/?x=1", "must not have a query or fragment"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + "=" + c.value);
    TempDir dir;
    auto loaded = load_in(dir, {}, {{c.key, c.value}});
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr(c.want));
    EXPECT_EQ(loaded.error().field, c.key);
  }
}

TEST(Validation, EnvFileErrorsNameTheEnvFile) {
  TempDir dir;
  const std::string path = dir.write("e.env", "DEVELOPMENT=sure");
  auto loaded = load_in(dir, with_env_file(path));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr(path + ": DEVELOPMENT must be"));
}

TEST(Validation, BooleansAcceptTheDocumentedSpellings) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                            {"TRUE", true},
                                                                            {"1", true},
                                                                            {"yes", true},
                                                                            {"Yes", true},
                                                                            {"false", false},
                                                                            {"False", false},
                                                                            {"0", false},
                                                                            {"no", false},
                                                                            {"NO", false}}) {
    SCOPED_TRACE(text);
    TempDir dir;
    auto loaded = load_in(dir, {}, {{"ENABLE_HTTPS", text}, {"DEVELOPMENT", text}});
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->config.enable_https, want);
    EXPECT_EQ(loaded->config.development, want);
  }
}

TEST(Validation, NamesCountCharactersNotBytes) {
  const std::string ok = R"({"anonymous_attendee": ")" + std::string(64, 'a') + "\"}";
  EXPECT_TRUE(load_json(ok));
  std::string accented;
  for (int i = 0; i < 64; ++i) accented += "\xC3\xA9";  // 64 x U+00E9, 128 bytes
  EXPECT_TRUE(load_json(R"({"anonymous_attendee": ")" + accented + "\"}"));
  auto too_long = load_json(R"({"anonymous_attendee": ")" + accented + "e\"}");
  ASSERT_FALSE(too_long);
  EXPECT_THAT(too_long.error().message, HasSubstr("anonymous_attendee must be at most 64"));
}

// ---- check() ----

TEST(Check, ProductionRefusesWithoutARequiredSecret) {
  struct Case {
    std::string name;
    void (*unset)(Config&);
    std::string want;
  };
  const Case cases[] = {
      {"no MAGICK_TOKEN", [](Config& c) { c.magick_token.clear(); },
       "MAGICK_TOKEN is not set: production mode needs it (see env-sample)"},
      {"no SALT_STRING", [](Config& c) { c.salt_string.clear(); },
       "SALT_STRING is not set: production mode needs it (see env-sample)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config config = production_config();
    c.unset(config);
    int calls = 0;
    auto checked = check(config, counting_generator(calls));
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().message, c.want);
    EXPECT_EQ(calls, 0);
  }
}

TEST(Check, HttpsRefusesMissingOrUnreadableFilesNamingThePath) {
  TempDir dir;
  const std::string key = dir.write("key.pem", "k");
  const std::string cert = dir.write("cert.pem", "c");
  const std::string ca = dir.write("ca.pem", "a");
  const std::string missing = (dir.path() / "missing.pem").string();
  struct Case {
    std::string name;
    HttpsFiles files;
    std::string want;  // "" = accepted
  };
  const Case cases[] = {
      {"all readable", {key, cert, ca}, ""},
      {"ca is optional", {key, cert, ""}, ""},
      {"missing key file", {missing, cert, ""}, "https.key file '" + missing + "' does not exist"},
      {"missing cert file", {key, missing, ""}, "https.cert file '" + missing + "' does not exist"},
      {"missing ca file", {key, cert, missing}, "https.ca file '" + missing + "' does not exist"},
      {"key not configured", {"", cert, ""}, "ENABLE_HTTPS is on but https.key is not set"},
      {"cert not configured", {key, "", ""}, "ENABLE_HTTPS is on but https.cert is not set"},
      {"directory as key", {dir.path().string(), cert, ""}, "is not a regular file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (bool development : {false, true}) {
      Config config = production_config();
      config.development = development;
      config.enable_https = true;
      config.https = c.files;
      auto checked = check(config, [] { return std::string("g"); });
      if (c.want.empty()) {
        EXPECT_TRUE(checked) << checked.error().message;
      } else {
        ASSERT_FALSE(checked);
        EXPECT_THAT(checked.error().message, HasSubstr(c.want));
      }
    }
  }
}

TEST(Check, DevelopmentGeneratesOnlyTheMissingSecrets) {
  struct Case {
    std::string name;
    std::string magick_token, salt_string;
    int want_calls;
  };
  const Case cases[] = {
      {"both missing", "", "", 2},
      {"only MAGICK_TOKEN missing", "", "given-salt", 1},
      {"only SALT_STRING missing", "given-token", "", 1},
      {"none missing", "given-token", "given-salt", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config config;
    config.development = true;
    config.magick_token = c.magick_token;
    config.salt_string = c.salt_string;
    int calls = 0;
    auto checked = check(config, counting_generator(calls));
    ASSERT_TRUE(checked) << checked.error().message;
    EXPECT_EQ(calls, c.want_calls);
    EXPECT_THAT(config.magick_token, Not(IsEmpty()));
    EXPECT_THAT(config.salt_string, Not(IsEmpty()));
    if (!c.magick_token.empty()) {
      EXPECT_EQ(config.magick_token, c.magick_token);
    }
    if (!c.salt_string.empty()) {
      EXPECT_EQ(config.salt_string, c.salt_string);
    }
    for (const auto& [name, was_missing] : {std::pair{"MAGICK_TOKEN", c.magick_token.empty()},
                                            std::pair{"SALT_STRING", c.salt_string.empty()}}) {
      auto warned = Contains(AllOf(HasSubstr(std::string(name) + " is not set"),
                                   HasSubstr("will not survive a restart")));
      if (was_missing) {
        EXPECT_THAT(*checked, warned);
      } else {
        EXPECT_THAT(*checked, Not(warned));
      }
    }
  }
}

TEST(Check, ProductionWarnsAboutPlainHttpAnyOriginAndMissingIce) {
  Config config = production_config();
  auto checked = check(config, nullptr);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_THAT(*checked, Contains(HasSubstr("PLAIN HTTP IN PRODUCTION MODE")));
  EXPECT_THAT(*checked, Contains(HasSubstr("allowed_origins is empty")));
  EXPECT_THAT(*checked, Contains(AllOf(HasSubstr("Google's public STUN"),
                                       HasSubstr("calls behind NAT will fail without TURN"))));
}

TEST(Validation, AllowedOriginsTakeOriginsAsBrowsersSendThem) {
  auto loaded = load_json(
      R"({"allowed_origins": ["https://app.example.com", "http://localhost:5173", "null",
                              "https://b.example/"]})");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_THAT(loaded->config.allowed_origins,
              ElementsAre("https://app.example.com", "http://localhost:5173", "null",
                          "https://b.example/"));
}

TEST(Check, WarnsWhenMessagesBurstCannotHoldACallThatFillsTheWorkspace) {
  Config config = production_config();
  config.max_capacity_of_workspace = 20;  // 19 × 41 = 779 messages at once from the owner
  auto checked = check(config, nullptr);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_THAT(*checked, Contains(AllOf(HasSubstr("messages_burst 300"), HasSubstr("779"))));
  config.messages_burst = 779;
  checked = check(config, nullptr);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_THAT(*checked, Not(Contains(HasSubstr("messages_burst"))));
}

TEST(Check, DevelopmentDoesNotWarnAboutHttpOriginsOrIce) {
  Config config = production_config();
  config.development = true;
  auto checked = check(config, nullptr);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_THAT(*checked, IsEmpty());
}

TEST(Check, AnyCompleteIceSourceSilencesTheStunWarning) {
  struct Case {
    std::string name;
    void (*set)(Config&);
    bool want_warning;
  };
  const Case cases[] = {
      {"nothing", [](Config&) {}, true},
      {"twilio", [](Config& c) { c.twilio_account_sid = "AC1", c.twilio_auth_token = "t"; }, false},
      {"twilio sid only", [](Config& c) { c.twilio_account_sid = "AC1"; }, true},
      {"turn rest", [](Config& c) { c.turn_secret = "s", c.turn_urls = {"turn:x"}; }, false},
      {"turn secret without urls", [](Config& c) { c.turn_secret = "s"; }, true},
      {"static list",
       [](Config& c) {
         c.ice_servers = boost::json::array{boost::json::object{{"urls", "stun:x"}}};
       },
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config config = production_config();
    c.set(config);
    auto checked = check(config, nullptr);
    ASSERT_TRUE(checked) << checked.error().message;
    auto stun_warning = Contains(HasSubstr("Google's public STUN"));
    if (c.want_warning) {
      EXPECT_THAT(*checked, stun_warning);
    } else {
      EXPECT_THAT(*checked, Not(stun_warning));
    }
  }
}

TEST(Check, HalfConfiguredIceSourcesAreWarnedAbout) {
  Config config = production_config();
  config.twilio_auth_token = "t";
  config.turn_urls = {"turn:x"};
  auto checked = check(config, nullptr);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_THAT(*checked, Contains(HasSubstr("TWILIO_AUTH_TOKEN is set without TWILIO_ACCOUNT_SID")));
  EXPECT_THAT(*checked, Contains(HasSubstr("turn_urls is set but TURN_SECRET is not")));
}

TEST(Check, ProductionRefusesSecretsShorterThan32Bytes) {
  for (auto member : {&Config::magick_token, &Config::salt_string}) {
    const std::string name = member == &Config::magick_token ? "MAGICK_TOKEN" : "SALT_STRING";
    SCOPED_TRACE(name);
    Config config = production_config();
    config.*member = "abc";
    auto refused = check(config, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message, HasSubstr(name + " is shorter than 32 bytes"));
    EXPECT_EQ(refused.error().field, name);
    config.*member = std::string(31, 'x');
    EXPECT_FALSE(check(config, nullptr));
    config.*member = std::string(32, 'x');
    EXPECT_TRUE(check(config, nullptr));
  }
  // Development mode takes them (a laptop's .env), as PROTOCOL.md §3 says it uses them as given.
  Config development = production_config();
  development.development = true;
  development.magick_token = "abc";
  EXPECT_TRUE(check(development, nullptr));
}

// ---- secrets never leak ----

TEST(Secrets, NoMessageEverContainsASecretValue) {
  const std::string secret = kMarker;
  std::vector<std::string> messages;
  auto collect = [&](const auto& result) {
    if (result) {
      for (const auto& w : result->warnings) messages.push_back(w);
    } else {
      messages.push_back(result.error().message);
    }
  };

  // Secrets in every layer, next to mistakes that produce warnings and errors.
  TempDir dir;
  dir.write("config.json", "{\"MAGICK_TOKEN\": \"" + secret + "\", \"typo_key\": 1}");
  const std::string env_file = dir.write(
      "e.env", "SALT_STRING=" + secret + "\nTURN_SECRET=\"" + secret + "\"\nSALT_STRNG=" + secret);
  const Environment env = {{"MAGICK_TOKEN", secret},
                           {"TWILIO_AUTH_TOKEN", secret},
                           {"TWILIO_ACCOUNT_SID", secret},
                           {"REDIS_URL", "redis://user:" + secret + "@host:6379"}};
  auto loaded = load_in(dir, with_env_file(env_file), env);
  ASSERT_TRUE(loaded) << loaded.error().message;
  collect(loaded);

  // Errors: a malformed .env line holding a secret, and a bad value next to secrets.
  collect(load_in(dir, with_env_file(dir.write("bad.env", "MAGICK_TOKEN " + secret)), env));
  collect(load_in(dir, with_env_file(env_file), {{"MAGICK_TOKEN", secret}, {"PORT", "x"}}));

  // check() in production (a short secret is refused, never quoted) and in development.
  Config production = loaded->config;
  production.magick_token = secret;  // shorter than 32
  auto checked = check(production, nullptr);
  ASSERT_FALSE(checked);
  messages.push_back(checked.error().message);
  Config development = loaded->config;
  development.development = true;
  development.magick_token.clear();
  auto dev_checked = check(development, [&] { return secret; });
  ASSERT_TRUE(dev_checked) << dev_checked.error().message;
  messages.insert(messages.end(), dev_checked->begin(), dev_checked->end());
  Config refused = loaded->config;
  refused.salt_string.clear();
  auto refusal = check(refused, nullptr);
  ASSERT_FALSE(refusal);
  messages.push_back(refusal.error().message);

  messages.push_back(describe(loaded->config));

  ASSERT_GE(messages.size(), 8u);
  for (const std::string& message : messages) {
    SCOPED_TRACE(message);
    EXPECT_THAT(message, Not(HasSubstr(secret)));
  }
}

// ---- describe() ----

TEST(Describe, ShowsEverySettingWithSecretsAsSetOrUnset) {
  Config config;
  config.magick_token = kMarker;
  config.turn_secret = kMarker;
  config.redis_url = std::string("redis://:") + kMarker + "@cache:6379/0";
  config.ice_servers = boost::json::array{
      boost::json::object{{"urls", "turn:x"}, {"username", "u"}, {"credential", kMarker}}};
  const std::string text = describe(config);
  EXPECT_THAT(text, Not(HasSubstr(kMarker)));
  EXPECT_THAT(text, HasSubstr("MAGICK_TOKEN = (set)"));
  EXPECT_THAT(text, HasSubstr("SALT_STRING = (unset)"));
  EXPECT_THAT(text, HasSubstr("TURN_SECRET = (set)"));
  EXPECT_THAT(text, HasSubstr("TWILIO_AUTH_TOKEN = (unset)"));
  EXPECT_THAT(text, HasSubstr("REDIS_URL = redis://***@cache:6379/0"));
  EXPECT_THAT(text, HasSubstr("ice_servers = 1 entries"));
  EXPECT_THAT(text, HasSubstr("PORT = 9090"));
  EXPECT_THAT(text, HasSubstr("max_capacity_of_workspace = 5"));
  EXPECT_THAT(text, HasSubstr("handshake_timeout_ms = 5000"));
  EXPECT_NE(text.back(), '\n');
}

// ---- environment_from ----

TEST(EnvironmentFrom, SplitsAtTheFirstEqualsSign) {
  const char* envp[] = {"PORT=9090", "EMPTY=", "EQ=a=b", "NOEQUALS", nullptr};
  Environment env = environment_from(envp);
  EXPECT_EQ(env, (Environment{{"PORT", "9090"}, {"EMPTY", ""}, {"EQ", "a=b"}}));
  EXPECT_THAT(environment_from(nullptr), IsEmpty());
}

TEST(ToString, SpellsLogSettings) {
  EXPECT_EQ(to_string(LogFormat::kText), "text");
  EXPECT_EQ(to_string(LogFormat::kJson), "json");
  EXPECT_EQ(to_string(LogLevel::kDebug), "debug");
  EXPECT_EQ(to_string(LogLevel::kInfo), "info");
  EXPECT_EQ(to_string(LogLevel::kWarn), "warn");
  EXPECT_EQ(to_string(LogLevel::kError), "error");
}

}  // namespace
}  // namespace ws::config
