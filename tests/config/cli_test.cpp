// Tests of the command-line flags and the help text.
#include "config/cli.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ws::config {
namespace {

using ::testing::HasSubstr;

/// Runs parse_args on {"workspaces-server", args...}.
core::Result<CliOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "workspaces-server");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return parse_args(static_cast<int>(args.size()), argv.data());
}

/// The set fields of `options`, space-separated, e.g. "config=c.json port=9 repair".
std::string summary(const CliOptions& options) {
  std::vector<std::string> parts;
  if (options.config_path) parts.push_back("config=" + *options.config_path);
  if (options.env_file_path) parts.push_back("env-file=" + *options.env_file_path);
  if (options.port) parts.push_back("port=" + std::to_string(*options.port));
  if (options.help) parts.push_back("help");
  if (options.version) parts.push_back("version");
  if (options.repair) parts.push_back("repair");
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : " ") + part;
  return out;
}

TEST(ParseArgs, AcceptsSeparateAndEqualsForms) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string want;  // summary() of the result
  };
  const Case cases[] = {
      {"nothing", {}, ""},
      {"--config PATH", {"--config", "/etc/ws.json"}, "config=/etc/ws.json"},
      {"--config=PATH", {"--config=/etc/ws.json"}, "config=/etc/ws.json"},
      {"--env-file PATH", {"--env-file", "prod.env"}, "env-file=prod.env"},
      {"--env-file=PATH", {"--env-file=prod.env"}, "env-file=prod.env"},
      {"--port N", {"--port", "8443"}, "port=8443"},
      {"--port=N", {"--port=8443"}, "port=8443"},
      {"--port 0 picks a free port", {"--port", "0"}, "port=0"},
      {"value containing =", {"--config=a=b.json"}, "config=a=b.json"},
      {"--help", {"--help"}, "help"},
      {"-h", {"-h"}, "help"},
      {"--version", {"--version"}, "version"},
      {"--repair", {"--repair"}, "repair"},
      {"later repetition wins", {"--port", "1", "--port=2"}, "port=2"},
      {"all together",
       {"--repair", "--config", "c.json", "--env-file=e.env", "--port", "9"},
       "config=c.json env-file=e.env port=9 repair"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = parse(c.args);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(summary(*got), c.want);
  }
}

TEST(ParseArgs, RejectsBadInputWithAClearMessage) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string want;
  };
  const Case cases[] = {
      {"unknown flag", {"--verbose"}, "unknown flag '--verbose'"},
      {"unknown flag with a value", {"--prot=80"}, "unknown flag '--prot'"},
      {"single-dash flag", {"-p", "80"}, "unexpected argument '-p'"},
      {"stray argument", {"config.json"}, "unexpected argument 'config.json'"},
      {"missing value at the end", {"--config"}, "--config needs a value"},
      {"flag instead of a value", {"--env-file", "--port", "1"}, "--env-file needs a value"},
      {"empty equals value", {"--config="}, "--config needs a value"},
      {"port not a number", {"--port", "http"}, "--port must be an integer between 0 and 65535"},
      {"port too large", {"--port=65536"}, "--port must be an integer between 0 and 65535"},
      {"negative port", {"--port=-1"}, "--port must be an integer between 0 and 65535"},
      {"value on a switch", {"--help=yes"}, "--help takes no value"},
      {"value on --repair", {"--repair=true"}, "--repair takes no value"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = parse(c.args);
    ASSERT_FALSE(got);
    EXPECT_THAT(got.error().message, HasSubstr(c.want));
    EXPECT_EQ(got.error().code, core::ErrorCode::kBadRequest);
  }
}

TEST(Usage, ListsEveryFlagAndEnvironmentVariable) {
  const std::string text = usage();
  for (const char* word : {"--config", "--env-file", "--port", "--help", "--version", "--repair",
                           "PORT", "ENABLE_HTTPS", "MAGICK_TOKEN", "SALT_STRING", "DEVELOPMENT",
                           "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE",
                           "TURN_SECRET", "REDIS_URL", "LOG_FORMAT", "LOG_LEVEL"}) {
    SCOPED_TRACE(word);
    EXPECT_THAT(text, HasSubstr(word));
  }
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace ws::config
