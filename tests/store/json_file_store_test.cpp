// Tests of JsonFileStore on real files: replay, torn tails, corruption, repair, locking, group
// commit, compaction and write errors.
#include "store/json_file_store.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "config/temp_dir.hpp"
#include "store/record_json.hpp"

namespace ws::store {
namespace {

namespace fs = std::filesystem;
using config::test_util::TempDir;
using namespace std::chrono_literals;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// `line` without its final "\n".
std::string chomp(std::string line) {
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

core::WorkspaceRecord workspace(std::string id, std::string name = "Workspace") {
  core::WorkspaceRecord record;
  record.id = {std::move(id)};
  record.name = std::move(name);
  record.owner = {"owner-1"};
  record.created_ms = 1718000000000;
  record.pin_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  record.invite = "invite-token";
  record.members = {{{"owner-1"}, "Ann", "", true, true}};
  return record;
}

/// Captures log lines from any thread.
class LogSink {
 public:
  LogFn fn() {
    return [this](core::Log log) {
      std::lock_guard lock(mutex_);
      logs_.push_back(std::move(log));
    };
  }
  std::vector<core::Log> events(std::string_view event) const {
    std::lock_guard lock(mutex_);
    std::vector<core::Log> found;
    for (const auto& log : logs_) {
      if (log.event == event) found.push_back(log);
    }
    return found;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    logs_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<core::Log> logs_;  // guarded by mutex_
};

std::string field(const core::Log& log, std::string_view key) {
  for (const auto& [k, v] : log.fields) {
    if (k == key) return v;
  }
  return "<absent>";
}

/// Applies `change` and waits (bounded) for its done.
core::Result<void> apply_and_wait(JsonFileStore& store, core::Change change) {
  auto done = std::make_shared<std::promise<core::Result<void>>>();
  auto result = done->get_future();
  store.apply(std::move(change), [done](core::Result<void> r) { done->set_value(std::move(r)); });
  if (result.wait_for(10s) != std::future_status::ready) {
    return core::fail(core::ErrorCode::kInternal, "done not called within 10 s");
  }
  return result.get();
}

class JsonFileStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<JsonFileStore> make(JsonFileOptions options = {}) {
    if (options.path.empty()) options.path = path_;
    return std::make_unique<JsonFileStore>(std::move(options), logs_.fn());
  }

  /// A store on `path_`, loaded; fails the test if load() fails.
  std::unique_ptr<JsonFileStore> open(JsonFileOptions options = {}) {
    auto store = make(std::move(options));
    auto snapshot = store->load();
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return store;
  }

  /// What a fresh store finds in `path_` (the one before it must be destroyed).
  std::vector<core::WorkspaceRecord> reopen(JsonFileOptions options = {}) {
    auto snapshot = make(std::move(options))->load();
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return snapshot ? snapshot->workspaces : std::vector<core::WorkspaceRecord>{};
  }

  TempDir dir_;
  std::string path_ = (dir_.path() / "store.json").string();
  LogSink logs_;
};

TEST_F(JsonFileStoreTest, MissingFileIsCreatedWithAHeaderOnlyAndMode0600) {
  auto store = make();
  auto snapshot = store->load();
  ASSERT_TRUE(snapshot) << snapshot.error().message;
  EXPECT_TRUE(snapshot->workspaces.empty());

  const auto lines = lines_of(read_bytes(path_));
  ASSERT_EQ(lines.size(), 1u);
  auto version = parse_header(lines[0]);
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, 2);
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(store->name(), "json-file");
  EXPECT_TRUE(store->healthy());
}

TEST_F(JsonFileStoreTest, PutReplacesDelErasesAndReopenGivesTheSameState) {
  auto a2 = workspace("a", "renamed");
  a2.call = core::CallRecord{{"call-1"}, 1718000000500, {{"owner-1"}}};
  a2.idle_since_ms = 1718000000900;
  const std::vector<core::Change> changes = {core::WorkspacePut{workspace("b")},
                                             core::WorkspacePut{workspace("a")},
                                             core::WorkspacePut{a2},
                                             core::WorkspaceDeleted{{"b"}},
                                             core::WorkspacePut{workspace("c", "Café ☕ 日本")},
                                             core::WorkspaceDeleted{{"never-was"}}};
  std::uint64_t bytes = 0;
  {
    auto store = open();
    for (const auto& change : changes) {
      bytes += change_line(change).size();
      auto done = apply_and_wait(*store, change);
      ASSERT_TRUE(done) << done.error().message;
    }
    EXPECT_EQ(store->stats().changes, changes.size());
    EXPECT_EQ(store->stats().bytes, bytes);
  }
  const std::vector<core::WorkspaceRecord> want = {a2, workspace("c", "Café ☕ 日本")};
  EXPECT_EQ(reopen(), want);
  EXPECT_EQ(reopen(), want) << "a second reopen reads the snapshot the first one wrote";
}

TEST_F(JsonFileStoreTest, FileAfterLoadIsACompactReadableSnapshot) {
  {
    auto store = open();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          apply_and_wait(*store, core::WorkspacePut{workspace("z", "v" + std::to_string(i))}));
      ASSERT_TRUE(apply_and_wait(*store, core::WorkspacePut{workspace("m", "Café ☕")}));
    }
    ASSERT_TRUE(apply_and_wait(*store, core::WorkspacePut{workspace("gone")}));
    ASSERT_TRUE(apply_and_wait(*store, core::WorkspaceDeleted{{"gone"}}));
  }
  reopen();

  const std::string text = read_bytes(path_);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u);
  auto header = boost::json::parse(lines[0]).as_object();
  EXPECT_EQ(header.at("format").as_string(), "workspaces-store");
  EXPECT_EQ(header.at("version").as_int64(), 2);
  EXPECT_TRUE(header.at("written_ms").is_int64());
  EXPECT_EQ(lines[1], chomp(put_line(workspace("m", "Café ☕"))));
  EXPECT_EQ(lines[2], chomp(put_line(workspace("z", "v4"))));
  EXPECT_NE(text.find("\"name\":\"Café ☕\""), std::string::npos) << "UTF-8 is not escaped";
}

/// header + put a + put b, then `last`.
std::string file_with_last_line(const std::string& last) {
  return header_line(1) + put_line(workspace("a")) + put_line(workspace("b")) + last;
}

TEST_F(JsonFileStoreTest, TornTailOfEveryLengthIsDroppedWithAWarning) {
  const std::string last = put_line(workspace("c", "third"));
  const std::vector<core::WorkspaceRecord> want = {workspace("a"), workspace("b")};
  // Keep 0 .. size-1 bytes of the last line: cut from the whole line to its "\n" alone.
  for (std::size_t kept = 0; kept < last.size(); ++kept) {
    SCOPED_TRACE("kept " + std::to_string(kept) + " bytes of the last line");
    dir_.write("store.json", file_with_last_line(last.substr(0, kept)));
    logs_.clear();
    EXPECT_EQ(reopen(), want);

    const auto torn = logs_.events("store.torn_tail");
    if (kept == 0) {
      EXPECT_TRUE(torn.empty()) << "nothing is torn when the cut falls on a line end";
    } else {
      ASSERT_EQ(torn.size(), 1u);
      EXPECT_EQ(torn[0].level, core::LogLevel::kWarn);
      EXPECT_EQ(field(torn[0], "file"), path_);
      EXPECT_EQ(field(torn[0], "line"), "4");
      EXPECT_EQ(field(torn[0], "bytes"), std::to_string(kept));
    }
    // The rewrite removed the torn bytes.
    const auto lines = lines_of(read_bytes(path_));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1], chomp(put_line(workspace("a"))));
    EXPECT_EQ(lines[2], chomp(put_line(workspace("b"))));
  }
}

TEST_F(JsonFileStoreTest, BadLastLineWithANewlineIsTornToo) {
  auto bad_type = put_line(workspace("c"));
  bad_type.replace(bad_type.find("\"mic\":true"), 10, "\"mic\":1");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cut JSON", "{\"put\":{\"id\":\n"},
      {"wrong type", bad_type},
      {"unknown kind", "{\"upsert\":{}}\n"},
      {"NUL bytes", std::string(40, '\0') + "\n"},
      {"empty line", "\n"}};
  for (const auto& [name, last] : cases) {
    SCOPED_TRACE(name);
    dir_.write("store.json", file_with_last_line(last));
    logs_.clear();
    EXPECT_EQ(reopen(), (std::vector{workspace("a"), workspace("b")}));
    const auto torn = logs_.events("store.torn_tail");
    ASSERT_EQ(torn.size(), 1u);
    EXPECT_EQ(field(torn[0], "bytes"), std::to_string(last.size()));
    EXPECT_EQ(lines_of(read_bytes(path_)).size(), 3u);
  }
}

TEST_F(JsonFileStoreTest, ChangesAfterATornTailSurviveTheNextReopen) {
  const std::string last = put_line(workspace("c"));
  for (std::size_t kept : {std::size_t{7}, last.size() - 1}) {
    SCOPED_TRACE(kept);
    dir_.write("store.json", file_with_last_line(last.substr(0, kept)));
    {
      auto store = open();
      ASSERT_TRUE(apply_and_wait(*store, core::WorkspacePut{workspace("d")}));
      ASSERT_TRUE(apply_and_wait(*store, core::WorkspaceDeleted{{"a"}}));
    }
    logs_.clear();
    EXPECT_EQ(reopen(), (std::vector{workspace("b"), workspace("d")}));
    EXPECT_TRUE(logs_.events("store.torn_tail").empty());
  }
}

TEST_F(JsonFileStoreTest, CorruptionFailsWithTheLineAndLeavesTheFileUntouched) {
  auto bad_type = put_line(workspace("x"));
  bad_type.replace(bad_type.find("\"created_ms\":"), 13, "\"created_ms\":\"1\",\"_\":");
  struct Case {
    std::string name;
    std::string content;
    int line;
    std::string kept;
    std::string what;
  };
  const std::string h = header_line(1);
  const std::string a = put_line(workspace("a"));
  const std::string b = put_line(workspace("b"));
  const std::vector<Case> cases = {
      {"garbage line", h + a + "garbage\n" + b, 3, "keep the 1 record before it", "invalid JSON"},
      {"wrong type", h + bad_type + a + b, 2, "keep the 0 records", "put.created_ms"},
      {"unknown kind", h + a + b + "{\"upsert\":{}}\n" + a, 4, "keep the 2 records",
       "unknown record kind"},
      {"bad header", "{\"format\":\"other\",\"version\":1}\n" + a, 1, "keep the 0 records",
       "not a store header"},
      {"no header", a + b, 1, "keep the 0 records", "not a store header"},
      {"header without newline", chomp(h), 1, "keep the 0 records", "no newline"},
      {"NUL byte", h + a + std::string("{\"del\":\"a\0\"}\n", 13) + b, 3, "keep the 1 record",
       "NUL byte at column 10"},
      {"empty line", h + "\n" + a, 2, "keep the 0 records", "invalid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    dir_.write("store.json", c.content);
    auto loaded = make()->load();
    ASSERT_FALSE(loaded);
    const std::string& message = loaded.error().message;
    EXPECT_EQ(message.rfind(path_ + ":" + std::to_string(c.line) + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.what), std::string::npos) << message;
    EXPECT_NE(message.find("the file is left untouched"), std::string::npos) << message;
    EXPECT_NE(message.find("--repair"), std::string::npos) << message;
    EXPECT_NE(message.find(c.kept), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(message.find("argon2id"), std::string::npos) << "no PIN hash in messages";
    EXPECT_EQ(read_bytes(path_), c.content);
    EXPECT_EQ(file_names(dir_.path()), (std::vector<std::string>{"store.json", "store.json.lock"}));
  }
}

TEST_F(JsonFileStoreTest, RepairMovesTheFileAsideAndKeepsTheRecordsBeforeTheBadLine) {
  const std::string content = header_line(1) + put_line(workspace("a")) + put_line(workspace("b")) +
                              "{broken\n" + put_line(workspace("c"));
  dir_.write("store.json", content);
  const std::vector<core::WorkspaceRecord> want = {workspace("a"), workspace("b")};
  EXPECT_EQ(reopen({.path = path_, .repair = true}), want);

  std::vector<std::string> aside;
  for (const auto& name : file_names(dir_.path())) {
    if (name.rfind("store.json.corrupt-", 0) == 0) aside.push_back(name);
  }
  ASSERT_EQ(aside.size(), 1u);
  const std::string suffix = aside[0].substr(std::string("store.json.corrupt-").size());
  EXPECT_FALSE(suffix.empty());
  EXPECT_EQ(suffix.find_first_not_of("0123456789"), std::string::npos) << suffix;
  const std::string aside_path = (dir_.path() / aside[0]).string();
  EXPECT_EQ(read_bytes(aside_path), content);

  const auto repaired = logs_.events("store.repaired");
  ASSERT_EQ(repaired.size(), 1u);
  EXPECT_EQ(repaired[0].level, core::LogLevel::kWarn);
  EXPECT_EQ(field(repaired[0], "file"), path_);
  EXPECT_EQ(field(repaired[0], "moved_to"), aside_path);
  EXPECT_EQ(field(repaired[0], "line"), "4");

  EXPECT_EQ(reopen(), want) << "the new file loads without --repair";
  EXPECT_EQ(lines_of(read_bytes(path_)).size(), 3u);
}

TEST_F(JsonFileStoreTest, NewerVersionIsRefusedEvenWithRepair) {
  const std::string content =
      "{\"format\":\"workspaces-store\",\"version\":3}\n" + put_line(workspace("a"));
  dir_.write("store.json", content);
  for (bool repair : {false, true}) {
    SCOPED_TRACE(repair);
    auto loaded = make({.path = path_, .repair = repair})->load();
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().message.rfind(path_ + ": ", 0), 0u) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find("written by a newer version (3)"), std::string::npos)
        << loaded.error().message;
    EXPECT_EQ(read_bytes(path_), content);
    EXPECT_EQ(file_names(dir_.path()), (std::vector<std::string>{"store.json", "store.json.lock"}));
  }
}

TEST_F(JsonFileStoreTest, EmptyFileIsTreatedAsNewWithAWarning) {
  dir_.write("store.json", "");
  EXPECT_TRUE(reopen().empty());
  EXPECT_EQ(logs_.events("store.empty_file").size(), 1u);
  const auto lines = lines_of(read_bytes(path_));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(parse_header(lines[0]));
}

TEST_F(JsonFileStoreTest, MissingDirectoryIsAnErrorNamingThePath) {
  const std::string path = (dir_.path() / "missing" / "store.json").string();
  auto loaded = make({.path = path})->load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find(path), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() / "missing"));
}

TEST_F(JsonFileStoreTest, SecondStoreOnTheSameFileIsRefusedUntilTheFirstCloses) {
  auto first = open();
  ASSERT_TRUE(apply_and_wait(*first, core::WorkspacePut{workspace("a")}));
  auto loaded = make()->load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, path_ + " is in use by another process");
  first.reset();
  EXPECT_EQ(reopen(), (std::vector{workspace("a")}));
}

TEST_F(JsonFileStoreTest, ABurstSharesSyncsAndCallsEveryDoneInOrder) {
  constexpr int kChanges = 2000;
  auto store = open();
  // The first done holds the writer until the whole burst is queued, so the rest of the burst
  // can only be written in one more batch: the test does not depend on timing.
  std::promise<void> release;
  std::shared_future<void> queued = release.get_future().share();
  std::vector<int> order;  // written by the writer thread only, read after `all_done`
  std::atomic<int> failures{0};
  std::promise<void> all_done;
  for (int i = 0; i < kChanges; ++i) {
    auto record = workspace("w" + std::to_string(i % 10), "v" + std::to_string(i));
    store->apply(core::WorkspacePut{record}, [&, i](core::Result<void> result) {
      if (i == 0) queued.wait();
      if (!result) ++failures;
      order.push_back(i);
      if (i == kChanges - 1) all_done.set_value();
    });
  }
  release.set_value();
  ASSERT_EQ(all_done.get_future().wait_for(30s), std::future_status::ready);

  EXPECT_EQ(failures, 0);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kChanges));
  for (int i = 0; i < kChanges; ++i) ASSERT_EQ(order[i], i);
  const auto stats = store->stats();
  EXPECT_EQ(stats.changes, static_cast<std::uint64_t>(kChanges));
  EXPECT_GE(stats.syncs, 1u);
  EXPECT_LE(stats.syncs, 2u);
  EXPECT_EQ(stats.compactions, 0u) << "the default threshold is 1 MiB";

  store.reset();
  const auto loaded = reopen();
  ASSERT_EQ(loaded.size(), 10u);
  EXPECT_EQ(loaded[0], workspace("w0", "v1990"));
  EXPECT_EQ(loaded[9], workspace("w9", "v1999"));
}

TEST_F(JsonFileStoreTest, DoneRunsOnlyOnceTheLineIsInTheFile) {
  constexpr int kChanges = 50;
  auto store = open();
  std::atomic<int> found{0};
  std::atomic<int> calls{0};
  for (int i = 0; i < kChanges; ++i) {
    const std::string marker = "marker-" + std::to_string(i) + "-end";
    store->apply(core::WorkspacePut{workspace("w" + std::to_string(i), marker)},
                 [this, marker, &found, &calls](core::Result<void> result) {
                   if (result &&
                       read_bytes(path_).find("\"name\":\"" + marker + "\"") != std::string::npos) {
                     ++found;
                   }
                   ++calls;
                 });
  }
  store.reset();  // waits for every done
  EXPECT_EQ(calls, kChanges);
  EXPECT_EQ(found, kChanges);
}

TEST_F(JsonFileStoreTest, DestructorWritesWhatIsQueuedAndCallsItsDones) {
  constexpr int kChanges = 500;
  std::atomic<int> ok{0};
  {
    auto store = open();
    for (int i = 0; i < kChanges; ++i) {
      store->apply(core::WorkspacePut{workspace("w" + std::to_string(i % 7), std::to_string(i))},
                   [&ok](core::Result<void> result) {
                     if (result) ++ok;
                   });
    }
  }
  EXPECT_EQ(ok, kChanges);
  const auto loaded = reopen();
  ASSERT_EQ(loaded.size(), 7u);
  EXPECT_EQ(loaded[6], workspace("w6", "496"));
}

TEST_F(JsonFileStoreTest, CompactionKeepsTheFileSmall) {
  constexpr std::size_t kMin = 4096;
  constexpr int kChanges = 600;
  std::uint64_t written = 0;
  {
    auto store = open({.path = path_, .compact_min_bytes = kMin});
    for (int i = 0; i < kChanges; ++i) {
      core::Change change =
          core::WorkspacePut{workspace("w" + std::to_string(i % 3), std::to_string(i))};
      written += change_line(change).size();
      ASSERT_TRUE(apply_and_wait(*store, std::move(change)));
      // After a batch the appended part is at most max(kMin, 2 x snapshot), and the snapshot
      // of three workspaces is under 1 KiB. Compaction runs after the batch's done, so one
      // more line (under 512 bytes) may still be there.
      ASSERT_LT(fs::file_size(path_), 1024 + kMin + 512) << "after change " << i;
    }
    EXPECT_GT(store->stats().compactions, 10u);
    EXPECT_EQ(store->stats().bytes, written);
    EXPECT_GT(written, 20 * kMin);
    EXPECT_TRUE(store->healthy());
  }
  EXPECT_EQ(reopen(),
            (std::vector{workspace("w0", "597"), workspace("w1", "598"), workspace("w2", "599")}));
}

TEST_F(JsonFileStoreTest, EveryKindOfChangeSurvivesAReopen) {
  const core::WorkspaceId ws{"w"};
  const core::AttendeeRecord bob{{"a2"}, "Bob", "b.png", true, true};
  const core::AttendeeRecord cy{{"a3"}, "Cy", "c.png", true, true};
  const std::vector<core::Change> changes = {
      core::WorkspacePut{workspace("w")},
      core::MemberPut{ws, bob},
      core::MemberPut{ws, cy},
      core::MemberToggled{ws, bob.id, false, true},
      core::CallChanged{ws, core::CallRecord{{"c1"}, 5, {{"owner-1"}, bob.id}}},
      core::MemberLeft{ws, {cy.id, "Cy", 7}},
      core::IdleChanged{ws, 9},
      core::MemberPut{ws, {{"a4"}, "Di", "", true, true}},
      core::AttendeeForgotten{ws, {"a4"}},
      core::MemberToggled{{"gone"}, bob.id, false, false},  // no such workspace: nothing
      core::WorkspacePut{workspace("x")},
      core::WorkspaceDeleted{{"x"}},
  };
  std::map<core::WorkspaceId, core::WorkspaceRecord> want;
  {
    auto store = open();
    for (const auto& change : changes) {
      core::apply_change(want, change);
      ASSERT_TRUE(apply_and_wait(*store, change));
    }
  }
  ASSERT_EQ(want.size(), 1u);
  const core::WorkspaceRecord& w = want.at(ws);
  EXPECT_EQ(w.members, (std::vector<core::AttendeeRecord>{workspace("w").members[0],
                                                          {{"a2"}, "Bob", "b.png", false, true}}));
  EXPECT_EQ(w.former, (std::vector<core::FormerRecord>{{cy.id, "Cy", 7}}));
  EXPECT_EQ(w.idle_since_ms, 9);
  EXPECT_EQ(reopen(), std::vector{w});
}

TEST_F(JsonFileStoreTest, AFormat1FileLoadsAndIsRewrittenAsFormat2) {
  // Written by the version before: former members whole, a list of revoked ids.
  dir_.write(
      "store.json",
      R"({"format":"workspaces-store","version":1,"written_ms":1718000000000})"
      "\n"
      R"({"put":{"id":"w","name":"n","avatar":"","owner":"a1","created_ms":1,"pin_hash":"",)"
      R"("invite":"i","members":[{"id":"a1","name":"Ann","avatar":"","mic":true,"cam":true}],)"
      R"("former":[{"id":"a3","name":"Cy","avatar":"c.png","mic":false,"cam":true}],)"
      R"("revoked":["a4"],"call":null,"idle_since_ms":5}})"
      "\n");
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto loaded = reopen();
  ASSERT_EQ(loaded.size(), 1u);
  ASSERT_EQ(loaded[0].former.size(), 1u);
  EXPECT_EQ(loaded[0].former[0].name, "Cy");
  // Format 1 has no time of leaving: the load's, so their tokens get a whole lifetime.
  EXPECT_GE(loaded[0].former[0].left_ms, before);
  EXPECT_EQ(loaded[0].idle_since_ms, 5);
  const std::string text = read_bytes(path_);
  EXPECT_NE(text.find("\"version\":2"), std::string::npos);
  EXPECT_EQ(text.find("revoked"), std::string::npos);
  EXPECT_EQ(text.find("c.png"), std::string::npos);
  EXPECT_EQ(reopen(), loaded);
}

TEST_F(JsonFileStoreTest, BytesWrittenAreInProportionToTheChangeOverTenThousandCycles) {
  // Issue 16: 10,000 attend->leave cycles with 16 KiB avatars wrote 7.1 GB for an 8.8 MB file
  // (every change rewrote the whole workspace), and a toggle ~147 KiB.
  constexpr int kCycles = 10000;
  constexpr std::size_t kMaxFormer = 1000;
  const core::WorkspaceId ws{"w"};
  const std::string name(64, 'n');
  const std::string avatar(16384, 'a');
  const std::size_t own_record =
      change_line(core::MemberPut{ws, {{"_0000000000"}, name, avatar, true, true}}).size();
  auto store = open();
  ASSERT_TRUE(apply_and_wait(*store, core::WorkspacePut{workspace("w")}));
  // Five members with the largest avatars, as a full workspace has.
  for (int m = 0; m < 4; ++m) {
    ASSERT_TRUE(apply_and_wait(
        *store, core::MemberPut{ws, {{"_m" + std::to_string(m)}, name, avatar, true, true}}));
  }
  const auto start = store->stats();
  std::deque<core::AttendeeId> former;
  std::promise<void> last;
  for (int i = 0; i < kCycles; ++i) {
    const core::AttendeeId id{"_" + std::to_string(1000000000 + i)};
    store->apply(core::MemberPut{ws, {id, name, avatar, true, true}}, nullptr);
    store->apply(core::MemberLeft{ws, {id, name, i}}, nullptr);
    former.push_back(id);
    if (former.size() > kMaxFormer) {  // what the Engine does past max_former
      store->apply(core::AttendeeForgotten{ws, former.front()}, nullptr);
      former.pop_front();
    }
  }
  store->apply(core::MemberToggled{ws, {"_m0"}, false, true},
               [&](core::Result<void>) { last.set_value(); });
  ASSERT_EQ(last.get_future().wait_for(60s), std::future_status::ready);
  const auto end = store->stats();
  const double per_cycle =
      static_cast<double>((end.bytes + end.snapshot_bytes) - (start.bytes + start.snapshot_bytes)) /
      kCycles;
  EXPECT_GT(end.compactions, start.compactions) << "compaction is part of what is measured";
  EXPECT_LE(per_cycle, 2.0 * own_record) << "bytes per attend+leave, compaction amortised";
  EXPECT_LT(fs::file_size(path_), 4u << 20) << "the file stays bounded";

  // A toggle by a member with a 16 KiB avatar: one short line.
  const auto before_toggles = store->stats();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(apply_and_wait(*store, core::MemberToggled{ws, {"_m1"}, i % 2 == 0, true}));
  }
  const auto after_toggles = store->stats();
  const double per_toggle =
      static_cast<double>((after_toggles.bytes + after_toggles.snapshot_bytes) -
                          (before_toggles.bytes + before_toggles.snapshot_bytes)) /
      100;
  EXPECT_LE(per_toggle, 8192.0);
  store.reset();
  const auto loaded = reopen();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].former.size(), kMaxFormer);
  EXPECT_EQ(loaded[0].members.size(), 5u);
}

TEST_F(JsonFileStoreTest, ApplyBeforeLoadFails) {
  auto store = make();
  auto done = apply_and_wait(*store, core::WorkspacePut{workspace("a")});
  ASSERT_FALSE(done);
  EXPECT_NE(done.error().message.find("before a successful load()"), std::string::npos);
}

/// Caps the size of files this process may write (RLIMIT_FSIZE) for a scope; writes past the
/// cap fail with EFBIG instead of raising SIGXFSZ.
class FileSizeCap {
 public:
  explicit FileSizeCap(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit capped = old_;
    capped.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &capped) == 0;
  }
  ~FileSizeCap() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

TEST_F(JsonFileStoreTest, WriteErrorMakesItUnhealthyAndFailsEveryLaterChange) {
  {
    auto store = open();
    ASSERT_TRUE(apply_and_wait(*store, core::WorkspacePut{workspace("a")}));
    {
      FileSizeCap cap(fs::file_size(path_) + 10);
      ASSERT_TRUE(cap.ok());
      auto failed =
          apply_and_wait(*store, core::WorkspacePut{workspace("b", std::string(2000, 'x'))});
      ASSERT_FALSE(failed);
      EXPECT_EQ(failed.error().code, core::ErrorCode::kInternal);
      EXPECT_EQ(failed.error().message, path_ + ": File too large");
    }
    EXPECT_FALSE(store->healthy());
    const auto logged = logs_.events("store.write_failed");
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(field(logged[0], "file"), path_);

    // The cap is gone but nothing is written again after a failure.
    const std::uint64_t syncs = store->stats().syncs;
    auto later = apply_and_wait(*store, core::WorkspacePut{workspace("c")});
    ASSERT_FALSE(later);
    EXPECT_EQ(later.error().message, path_ + ": File too large");
    EXPECT_EQ(store->stats().syncs, syncs);
    EXPECT_EQ(logs_.events("store.write_failed").size(), 1u) << "logged once";
  }
  // The failed write left 10 bytes of a line: the next start drops them as a torn tail.
  logs_.clear();
  EXPECT_EQ(reopen(), (std::vector{workspace("a")}));
  const auto torn = logs_.events("store.torn_tail");
  ASSERT_EQ(torn.size(), 1u);
  EXPECT_EQ(field(torn[0], "bytes"), "10");
}

}  // namespace
}  // namespace ws::store
