// Tests of the store file's lines: record JSON round trips and the errors of bad lines.
#include "store/record_json.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ws::store {
namespace {

namespace json = boost::json;

core::WorkspaceRecord full_record() {
  return {.id = {"k3j9x2"},
          .name = "Design review",
          .avatar = "https://example.com/a.png",
          .owner = {"a1"},
          .created_ms = 1718000000123,
          .pin_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
          .invite = "inv.eyJhbGciOi.sig",
          .members = {{{"a1"}, "Ann", "", true, false}, {{"a2"}, "Bob", "b.png", false, true}},
          .former = {{{"a3"}, "Cy", "", true, true}},
          .revoked = {{"a4"}, {"a5"}},
          .call = core::CallRecord{{"c1"}, 1718000000456, {{"a1"}, {"a2"}}},
          .idle_since_ms = std::nullopt};
}

core::WorkspaceRecord parse_put(const std::string& line) {
  auto change = parse_change(line.substr(0, line.size() - 1));
  EXPECT_TRUE(change) << change.error().message;
  if (!change) return {};
  auto* put = std::get_if<core::WorkspacePut>(&*change);
  EXPECT_NE(put, nullptr);
  return put ? put->workspace : core::WorkspaceRecord{};
}

TEST(RecordJson, RoundTripsExactly) {
  struct Case {
    std::string name;
    core::WorkspaceRecord record;
  };
  auto no_call = full_record();
  no_call.call.reset();
  auto idle = full_record();
  idle.idle_since_ms = 1718000000999;
  auto unicode = full_record();
  unicode.name = "Café ☕ 日本語 👩‍💻";
  unicode.members[0].name = "Zoë \"quoted\" \\ back\nslash\ttab";
  auto invalid_utf8 = full_record();
  invalid_utf8.name = std::string("bad \xff\xfe") + " bytes, a NUL " + std::string(1, '\0') + ".";
  auto extremes = full_record();
  extremes.created_ms = std::numeric_limits<std::int64_t>::min();
  extremes.idle_since_ms = std::numeric_limits<std::int64_t>::max();
  auto empty = core::WorkspaceRecord{};
  const std::vector<Case> cases = {
      {"full", full_record()}, {"no call", no_call},           {"idle since", idle},
      {"unicode", unicode},    {"invalid utf8", invalid_utf8}, {"int64 extremes", extremes},
      {"empty", empty}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string line = change_line(core::WorkspacePut{c.record});
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line only";
    EXPECT_EQ(parse_put(line), c.record);
  }
}

TEST(RecordJson, WritesTheDocumentedFieldsInOrder) {
  const std::string line = put_line(full_record());
  const std::vector<std::string> keys = {"\"id\"",      "\"name\"",       "\"avatar\"",
                                         "\"owner\"",   "\"created_ms\"", "\"pin_hash\"",
                                         "\"invite\"",  "\"members\"",    "\"former\"",
                                         "\"revoked\"", "\"call\"",       "\"idle_since_ms\""};
  std::size_t at = 0;
  for (const auto& key : keys) {
    SCOPED_TRACE(key);
    const std::size_t found = line.find(key, at);
    ASSERT_NE(found, std::string::npos);
    at = found;
  }
  EXPECT_NE(line.find("\"idle_since_ms\":null"), std::string::npos);
  EXPECT_NE(
      line.find("{\"id\":\"a1\",\"name\":\"Ann\",\"avatar\":\"\",\"mic\":true,\"cam\":false}"),
      std::string::npos);
  EXPECT_NE(line.find("\"call\":{\"id\":\"c1\",\"started_ms\":1718000000456,"
                      "\"participants\":[\"a1\",\"a2\"]}"),
            std::string::npos);
}

TEST(RecordJson, KeepsUnicodeReadable) {
  auto record = full_record();
  record.name = "Café ☕";
  EXPECT_NE(put_line(record).find("\"name\":\"Café ☕\""), std::string::npos);
}

TEST(RecordJson, DeleteLineRoundTrips) {
  const std::string line = change_line(core::WorkspaceDeleted{{"k3j9x2"}});
  EXPECT_EQ(line, "{\"del\":\"k3j9x2\"}\n");
  auto change = parse_change("{\"del\":\"k3j9x2\"}");
  ASSERT_TRUE(change);
  auto* del = std::get_if<core::WorkspaceDeleted>(&*change);
  ASSERT_NE(del, nullptr);
  EXPECT_EQ(del->id.value, "k3j9x2");
}

TEST(RecordJson, IgnoresUnknownKeys) {
  json::object put = to_json(full_record());
  put["added_later"] = json::array{1, 2};
  json::object member = put["members"].as_array()[0].as_object();
  member["hand_raised"] = true;
  put["members"].as_array()[0] = member;
  const std::string line = json::serialize(json::object{{"put", put}, {"ts", 5}});
  auto change = parse_change(line);
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(std::get<core::WorkspacePut>(*change).workspace, full_record());
}

/// A put line whose record has `key` replaced by `value` (JSON text), or removed if empty.
std::string put_with(const std::string& key, const std::string& value) {
  json::object put = to_json(full_record());
  if (value.empty()) {
    put.erase(key);
  } else {
    put[key] = json::parse(value);
  }
  return json::serialize(json::object{{"put", put}});
}

TEST(RecordJson, NamesTheBadField) {
  struct Case {
    std::string name;
    std::string line;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"missing field", put_with("owner", ""), "put.owner: missing"},
      {"string as int", put_with("created_ms", "\"1\""), "put.created_ms: expected an integer"},
      {"double as int", put_with("created_ms", "1.5"), "put.created_ms: expected an integer"},
      {"too big for int64", put_with("created_ms", "18446744073709551615"),
       "put.created_ms: expected an integer"},
      {"null name", put_with("name", "null"), "put.name: expected a string"},
      {"member not object", put_with("members", "[1]"), "put.members[0]: expected an object"},
      {"member mic string",
       put_with("members", R"([{"id":"a","name":"","avatar":"","mic":"yes","cam":true}])"),
       "put.members[0].mic: expected a boolean"},
      {"second former missing cam",
       put_with("former",
                R"([{"id":"a","name":"","avatar":"","mic":true,"cam":true},
                    {"id":"b","name":"","avatar":"","mic":true}])"),
       "put.former[1].cam: missing"},
      {"revoked not array", put_with("revoked", "{}"), "put.revoked: expected an array"},
      {"revoked id number", put_with("revoked", "[\"a\",7]"), "put.revoked[1]: expected a string"},
      {"call missing", put_with("call", ""), "put.call: missing"},
      {"call wrong type", put_with("call", "[]"), "put.call: expected an object"},
      {"call participants", put_with("call", R"({"id":"c","started_ms":1,"participants":[1]})"),
       "put.call.participants[0]: expected a string"},
      {"idle wrong type", put_with("idle_since_ms", "true"),
       "put.idle_since_ms: expected an integer"},
      {"put not object", R"({"put":[]})", "put: expected an object"},
      {"del not string", R"({"del":5})", "del: expected a string"},
      {"both kinds", R"({"put":{},"del":"x"})", "both put and del"},
      {"unknown kind", R"({"upsert":{}})", "unknown record kind \"upsert\""},
      {"empty object", "{}", "empty record"},
      {"array", "[1,2]", "a record must be a JSON object"},
      {"bad JSON", R"({"del":"x",})", "invalid JSON at column 12"},
      {"two values", R"({"del":"x"}{"del":"y"})", "invalid JSON at column 12"},
      {"cut", R"({"del":"x)", "invalid JSON"},
      {"NUL byte", std::string("{\"del\":\"x\"}\0", 12), "NUL byte at column 12"},
      {"empty line", "", "invalid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto change = parse_change(c.line);
    ASSERT_FALSE(change);
    EXPECT_NE(change.error().message.find(c.want), std::string::npos) << change.error().message;
    EXPECT_EQ(change.error().message.find('\n'), std::string::npos);
  }
}

TEST(RecordJson, ErrorsNeverQuoteValues) {
  auto record = full_record();
  record.created_ms = 0;
  json::object put = to_json(record);
  put["created_ms"] = record.pin_hash;  // a secret in the wrong place
  auto change = parse_change(json::serialize(json::object{{"put", put}}));
  ASSERT_FALSE(change);
  EXPECT_EQ(change.error().message.find("argon2id"), std::string::npos);
}

TEST(RecordJson, HeaderRoundTripsAndRejectsOthers) {
  const std::string line = header_line(1718000000000);
  EXPECT_EQ(line, "{\"format\":\"workspaces-store\",\"version\":1,\"written_ms\":1718000000000}\n");
  auto version = parse_header(line.substr(0, line.size() - 1));
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, 1);

  auto newer = parse_header(R"({"format":"workspaces-store","version":2,"extra":true})");
  ASSERT_TRUE(newer);
  EXPECT_EQ(*newer, 2);

  for (const std::string bad :
       {R"({"format":"other","version":1})", R"({"version":1})", R"({"format":"workspaces-store"})",
        R"({"format":"workspaces-store","version":0})",
        R"({"format":"workspaces-store","version":"1"})", "[]", "{", R"({"del":"x"})"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_header(bad));
  }
}

}  // namespace
}  // namespace ws::store
