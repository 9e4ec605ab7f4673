// The StateStore contract, run against every implementation: dones run once per change, in
// order, successfully; the loaded state is the replay of the changes (after a reopen, for a
// durable store).
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/temp_dir.hpp"
#include "store/json_file_store.hpp"
#include "store/memory_store.hpp"

namespace ws::store {
namespace {

using config::test_util::TempDir;

core::WorkspaceRecord workspace(std::string id, std::string name) {
  core::WorkspaceRecord w;
  w.id = core::WorkspaceId{std::move(id)};
  w.name = std::move(name);
  w.owner = core::AttendeeId{"_owner"};
  w.created_ms = 1'700'000'000'000;
  w.invite = "invite-" + w.id.value;
  w.members.push_back(core::AttendeeRecord{w.owner, "Olivia", "", true, false});
  return w;
}

/// Opens the store under test; a durable one reopens on the same storage.
struct Subject {
  std::string name;
  bool durable;
  std::function<std::unique_ptr<StateStore>(const TempDir&)> open;
};

class StoreContract : public ::testing::TestWithParam<Subject> {
 protected:
  TempDir dir_;
};

TEST_P(StoreContract, DonesRunOncePerChangeInOrderAndSucceed) {
  auto store = GetParam().open(dir_);
  ASSERT_TRUE(store->load());
  std::vector<int> order;
  std::mutex mu;
  std::promise<void> all;
  constexpr int kChanges = 50;
  for (int i = 0; i < kChanges; ++i) {
    store->apply(core::WorkspacePut{workspace("_w" + std::to_string(i % 7), std::to_string(i))},
                 [&, i](core::Result<void> r) {
                   EXPECT_TRUE(r);
                   std::lock_guard lock(mu);
                   order.push_back(i);
                   if (static_cast<int>(order.size()) == kChanges) all.set_value();
                 });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::vector<int> want(kChanges);
  for (int i = 0; i < kChanges; ++i) want[i] = i;
  EXPECT_EQ(order, want);
  EXPECT_TRUE(store->healthy());
  EXPECT_FALSE(store->name().empty());
}

TEST_P(StoreContract, TheLoadedStateIsTheReplayOfTheChanges) {
  auto store = GetParam().open(dir_);
  auto empty = store->load();
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->workspaces.empty());
  std::promise<void> last;
  store->apply(core::WorkspacePut{workspace("_a", "first")}, {});
  store->apply(core::WorkspacePut{workspace("_b", "kept")}, {});
  store->apply(core::WorkspacePut{workspace("_a", "renamed")}, {});
  store->apply(core::WorkspacePut{workspace("_c", "gone")}, {});
  store->apply(core::WorkspaceDeleted{core::WorkspaceId{"_c"}}, {});
  store->apply(core::WorkspaceDeleted{core::WorkspaceId{"_never"}}, [&](core::Result<void> r) {
    EXPECT_TRUE(r) << "deleting an unknown workspace is fine";
    last.set_value();
  });
  ASSERT_EQ(last.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  if (GetParam().durable) {
    store.reset();
    store = GetParam().open(dir_);
  }
  auto loaded = store->load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  std::map<std::string, core::WorkspaceRecord> by_id;
  for (auto& w : loaded->workspaces) by_id[w.id.value] = w;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.at("_a"), workspace("_a", "renamed"));
  EXPECT_EQ(by_id.at("_b"), workspace("_b", "kept"));
}

INSTANTIATE_TEST_SUITE_P(
    EveryStore, StoreContract,
    ::testing::Values(Subject{"memory", false,
                              [](const TempDir&) -> std::unique_ptr<StateStore> {
                                return std::make_unique<MemoryStore>();
                              }},
                      Subject{"json_file", true,
                              [](const TempDir& dir) -> std::unique_ptr<StateStore> {
                                return std::make_unique<JsonFileStore>(
                                    JsonFileOptions{(dir.path() / "state.jsonl").string(), false},
                                    [](core::Log) {});
                              }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ws::store
