// Tests of the .env syntax and of the boolean and port spellings.
#include "config/env_file.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ws::config {
namespace {

using Env = std::map<std::string, std::string>;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseEnvFile, AcceptsTheDocumentedSyntax) {
  struct Case {
    std::string name;
    std::string input;
    Env want;
  };
  const Case cases[] = {
      {"plain", "PORT=9090", {{"PORT", "9090"}}},
      {"empty text", "", {}},
      {"blank lines and comments", "\n  \n# a comment\n   # indented comment\nA=1\n", {{"A", "1"}}},
      {"spaces around =", "A = 1", {{"A", "1"}}},
      {"export prefix", "export A=1\nexport\tB=2", {{"A", "1"}, {"B", "2"}}},
      {"key named like the prefix", "exported=1", {{"exported", "1"}}},
      {"empty value", "A=", {{"A", ""}}},
      {"trailing whitespace trimmed", "A=some value \t ", {{"A", "some value"}}},
      {"inline comment after unquoted value", "A=value # comment", {{"A", "value"}}},
      {"hash without a space before it is data", "A=abc#def", {{"A", "abc#def"}}},
      {"value that is only a comment", "A= # nothing", {{"A", ""}}},
      {"single quotes are literal", R"(A='x # y \n "z"')", {{"A", R"(x # y \n "z")"}}},
      {"double quotes keep #", R"(A="x # y")", {{"A", "x # y"}}},
      {"double-quote escapes",
       R"(A="l1\nl2 \"q\" back\\slash")",
       {{"A", "l1\nl2 \"q\" back\\slash"}}},
      {"other backslashes stay", R"(A="c:\temp")", {{"A", R"(c:\temp)"}}},
      {"comment after a quoted value", R"(A="v" # note)", {{"A", "v"}}},
      {"quoted value keeps its spaces", "A='  padded  '", {{"A", "  padded  "}}},
      {"CRLF line ends", "A=1\r\nB=2\r\n", {{"A", "1"}, {"B", "2"}}},
      {"later line wins", "A=1\nA=2", {{"A", "2"}}},
      {"equals sign inside a value", "A=b=c", {{"A", "b=c"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_env_file(c.input);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, c.want);
  }
}

TEST(ParseEnvFile, RejectsAMalformedLineNamingItsNumber) {
  struct Case {
    std::string name;
    std::string input;
    std::string want;
  };
  const Case cases[] = {
      {"no equals sign", "A=1\nJUSTAWORD\n", "line 2:"},
      {"missing key", "# c\n\n=5", "line 3:"},
      {"key starting with a digit", "1A=2", "line 1:"},
      {"key with a dash", "MY-KEY=2", "line 1:"},
      {"bare export", "export", "line 1:"},
      {"unterminated double quote", "A=1\nB=\"open", "line 2: unterminated double quote"},
      {"unterminated single quote", "B='open", "line 1: unterminated single quote"},
      {"text after closing quote", "B=\"a\"b", "line 1: unexpected text after the closing quote"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = parse_env_file(c.input);
    ASSERT_FALSE(parsed);
    EXPECT_THAT(parsed.error().message, HasSubstr(c.want));
  }
}

TEST(ParseEnvFile, ExportWithoutAKeyIsAMalformedLine) {
  // Found by fuzz/config_fuzz.cpp (fuzz/regressions/config/): "export " left an empty line whose
  // first character was read anyway, past the end of the text. Here the text ends before "A=1",
  // which that read used to take for a key (and then threw std::out_of_range).
  const std::string text = "export A=1";
  for (std::string_view input :
       {std::string_view(text).substr(0, 7), std::string_view("export \t ")}) {
    SCOPED_TRACE(input);
    auto parsed = parse_env_file(input);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message, "line 1: expected KEY=value");
  }
}

TEST(ParseEnvFile, ErrorsNeverQuoteTheOffendingLine) {
  // A line holding only a pasted secret must not end up in a log.
  for (const std::string input :
       {"s3cret-MARKER-value", "MAGICK_TOKEN \"s3cret-MARKER-value\"", "K=\"s3cret-MARKER-value"}) {
    SCOPED_TRACE(input);
    auto parsed = parse_env_file(input);
    ASSERT_FALSE(parsed);
    EXPECT_THAT(parsed.error().message, Not(HasSubstr("MARKER")));
  }
}

TEST(ParseBool, AcceptsTrueFalseOneZeroYesNoInAnyCase) {
  struct Case {
    std::string input;
    std::optional<bool> want;
  };
  const Case cases[] = {
      {"true", true},
      {"TRUE", true},
      {"True", true},
      {"1", true},
      {"yes", true},
      {"YES", true},
      {"false", false},
      {"False", false},
      {"0", false},
      {"no", false},
      {"No", false},
      {"", std::nullopt},
      {"y", std::nullopt},
      {"on", std::nullopt},
      {"2", std::nullopt},
      {" true", std::nullopt},
      {"truee", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("'" + c.input + "'");
    EXPECT_EQ(parse_bool(c.input), c.want);
  }
}

TEST(ParsePort, AcceptsZeroTo65535InPlainDigits) {
  struct Case {
    std::string input;
    std::optional<std::uint16_t> want;
  };
  const Case cases[] = {
      {"0", 0},
      {"9090", 9090},
      {"65535", 65535},
      {"00080", 80},
      {"65536", std::nullopt},
      {"-1", std::nullopt},
      {"+80", std::nullopt},
      {"80 ", std::nullopt},
      {"", std::nullopt},
      {"8o", std::nullopt},
      {"123456", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("'" + c.input + "'");
    EXPECT_EQ(parse_port(c.input), c.want);
  }
}

}  // namespace
}  // namespace ws::config
