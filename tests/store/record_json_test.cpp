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
          .former = {{{"a3"}, "Cy", 1718000000200}, {{"a4"}, "Di", 1718000000300}},
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
  const std::vector<std::string> keys = {
      "\"id\"",     "\"name\"",    "\"avatar\"", "\"owner\"", "\"created_ms\"",   "\"pin_hash\"",
      "\"invite\"", "\"members\"", "\"former\"", "\"call\"",  "\"idle_since_ms\""};
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
  EXPECT_NE(line.find("\"former\":[{\"id\":\"a3\",\"name\":\"Cy\",\"left_ms\":1718000000200},"),
            std::string::npos);
  EXPECT_EQ(line.find("revoked"), std::string::npos);
}

TEST(RecordJson, EveryChangeRoundTripsAsOneLine) {
  const core::WorkspaceId ws{"k3j9x2"};
  const core::Change changes[] = {
      core::WorkspacePut{full_record()},
      core::WorkspaceDeleted{ws},
      core::MemberPut{ws, {{"a2"}, "Bob", std::string(16384, 'b'), false, true}},
      core::MemberToggled{ws, {"a2"}, false, true},
      core::MemberToggled{ws, {"a2"}, true, false},
      core::MemberLeft{ws, {{"a2"}, "Bob \"B\" ☕", 1718000000999}},
      core::AttendeeForgotten{ws, {"a2"}},
      core::CallChanged{ws, core::CallRecord{{"c1"}, 1718000000456, {{"a1"}, {"a2"}}}},
      core::CallChanged{ws, std::nullopt},
      core::IdleChanged{ws, 1718000000999},
      core::IdleChanged{ws, std::nullopt},
  };
  for (const auto& change : changes) {
    const std::string line = change_line(change);
    SCOPED_TRACE(line.substr(0, 120));
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line only";
    auto back = parse_change(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, change);
    EXPECT_EQ(core::workspace_of(*back), ws);
  }
}

TEST(RecordJson, ChangesAreAsSmallAsWhatChanged) {
  // Issue 16: a toggle by a member with a 16 KiB avatar wrote ~147 KiB (the whole workspace).
  const core::WorkspaceId ws{"_Wk3sp4ce01"};
  const std::string toggle = change_line(core::MemberToggled{ws, {"_Att3nd33ab"}, false, true});
  EXPECT_EQ(toggle,
            "{\"toggle\":{\"ws\":\"_Wk3sp4ce01\",\"id\":\"_Att3nd33ab\",\"mic\":false,"
            "\"cam\":true}}\n");
  const core::AttendeeRecord big{
      {"_Att3nd33ab"}, std::string(64, 'n'), std::string(16384, 'a'), true, true};
  const std::size_t own = json::serialize(json::object{{"id", big.id.value},
                                                       {"name", big.name},
                                                       {"avatar", big.avatar},
                                                       {"mic", true},
                                                       {"cam", true}})
                              .size();
  EXPECT_LT(change_line(core::MemberPut{ws, big}).size(), own + 64);
  EXPECT_LT(change_line(core::MemberLeft{ws, {big.id, big.name, 1718000000999}}).size(), 160u);
}

TEST(RecordJson, ReadsFormat1Records) {
  // Format 1 kept former members whole and a list of revoked ids.
  const std::string v1 =
      R"({"put":{"id":"w","name":"n","avatar":"","owner":"a1","created_ms":1,"pin_hash":"",)"
      R"("invite":"i","members":[{"id":"a1","name":"Ann","avatar":"","mic":true,"cam":true}],)"
      R"("former":[{"id":"a3","name":"Cy","avatar":"c.png","mic":false,"cam":true}],)"
      R"("revoked":["a4"],"call":null,"idle_since_ms":null}})";
  auto change = parse_change(v1, ReadContext{1, 1718000000777});
  ASSERT_TRUE(change) << change.error().message;
  const auto& record = std::get<core::WorkspacePut>(*change).workspace;
  EXPECT_EQ(record.former, (std::vector<core::FormerRecord>{{{"a3"}, "Cy", 1718000000777}}));
  EXPECT_EQ(record.members.size(), 1u);
  // Read as format 2 it is missing left_ms.
  auto as_v2 = parse_change(v1);
  ASSERT_FALSE(as_v2);
  EXPECT_NE(as_v2.error().message.find("put.former[0].left_ms: missing"), std::string::npos);
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
      {"second former missing left_ms",
       put_with("former", R"([{"id":"a","name":"","left_ms":1},{"id":"b","name":""}])"),
       "put.former[1].left_ms: missing"},
      {"former left_ms string", put_with("former", R"([{"id":"a","name":"","left_ms":"1"}])"),
       "put.former[0].left_ms: expected an integer"},
      {"call missing", put_with("call", ""), "put.call: missing"},
      {"call wrong type", put_with("call", "[]"), "put.call: expected an object"},
      {"call participants", put_with("call", R"({"id":"c","started_ms":1,"participants":[1]})"),
       "put.call.participants[0]: expected a string"},
      {"idle wrong type", put_with("idle_since_ms", "true"),
       "put.idle_since_ms: expected an integer"},
      {"put not object", R"({"put":[]})", "put: expected an object"},
      {"del not string", R"({"del":5})", "del: expected a string"},
      {"both kinds", R"({"put":{},"del":"x"})", "both put and del"},
      {"two new kinds", R"({"toggle":{},"left":{}})", "both toggle and left"},
      {"member without ws", R"({"member":{"attendee":{}}})", "member.ws: missing"},
      {"member without attendee", R"({"member":{"ws":"w"}})", "member.attendee: missing"},
      {"member attendee mic",
       R"({"member":{"ws":"w","attendee":{"id":"a","name":"","avatar":"","cam":true}}})",
       "member.attendee.mic: missing"},
      {"toggle cam string", R"({"toggle":{"ws":"w","id":"a","mic":true,"cam":"no"}})",
       "toggle.cam: expected a boolean"},
      {"left former name", R"({"left":{"ws":"w","former":{"id":"a","left_ms":1}}})",
       "left.former.name: missing"},
      {"forget id number", R"({"forget":{"ws":"w","id":3}})", "forget.id: expected a string"},
      {"call not object", R"({"call":{"ws":"w","call":5}})", "call.call: expected an object"},
      {"call missing", R"({"call":{"ws":"w"}})", "call.call: missing"},
      {"idle string", R"({"idle":{"ws":"w","idle_since_ms":"1"}})",
       "idle.idle_since_ms: expected an integer"},
      {"kind not object", R"({"toggle":[]})", "toggle: expected an object"},
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
  EXPECT_EQ(line, "{\"format\":\"workspaces-store\",\"version\":2,\"written_ms\":1718000000000}\n");
  auto version = parse_header(line.substr(0, line.size() - 1));
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, 2);

  auto older = parse_header(R"({"format":"workspaces-store","version":1})");
  ASSERT_TRUE(older);
  EXPECT_EQ(*older, 1);
  auto newer = parse_header(R"({"format":"workspaces-store","version":3,"extra":true})");
  ASSERT_TRUE(newer);
  EXPECT_EQ(*newer, 3);

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
