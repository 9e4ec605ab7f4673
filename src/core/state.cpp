// What a durable change means for the stored records: one definition for every store.
#include "core/state.hpp"
#include "core/overloaded.hpp"

#include <algorithm>
#include <utility>

namespace ws::core {

namespace {

template <class Records>
void erase_id(Records& records, const AttendeeId& id) {
  std::erase_if(records, [&](const auto& r) { return r.id == id; });
}

}  // namespace

const WorkspaceId& workspace_of(const Change& change) {
  return std::visit(Overloaded{
                        [](const WorkspacePut& c) -> const WorkspaceId& { return c.workspace.id; },
                        [](const WorkspaceDeleted& c) -> const WorkspaceId& { return c.id; },
                        [](const auto& c) -> const WorkspaceId& { return c.workspace; },
                    },
                    change);
}

void apply_change(std::map<WorkspaceId, WorkspaceRecord>& workspaces, Change change) {
  if (auto* put = std::get_if<WorkspacePut>(&change)) {
    WorkspaceId id = put->workspace.id;
    workspaces.insert_or_assign(std::move(id), std::move(put->workspace));
    return;
  }
  if (auto* del = std::get_if<WorkspaceDeleted>(&change)) {
    workspaces.erase(del->id);
    return;
  }
  auto it = workspaces.find(workspace_of(change));
  if (it == workspaces.end()) return;
  WorkspaceRecord& ws = it->second;
  std::visit(Overloaded{
                 [&](MemberPut& c) {
                   erase_id(ws.former, c.attendee.id);
                   auto m = std::find_if(ws.members.begin(), ws.members.end(),
                                         [&](const auto& a) { return a.id == c.attendee.id; });
                   if (m != ws.members.end()) {
                     *m = std::move(c.attendee);
                   } else {
                     ws.members.push_back(std::move(c.attendee));
                   }
                 },
                 [&](MemberToggled& c) {
                   for (auto& a : ws.members) {
                     if (a.id != c.attendee) continue;
                     a.mic = c.mic;
                     a.cam = c.cam;
                   }
                 },
                 [&](MemberLeft& c) {
                   erase_id(ws.members, c.former.id);
                   erase_id(ws.former, c.former.id);
                   ws.former.push_back(std::move(c.former));
                 },
                 [&](AttendeeForgotten& c) {
                   erase_id(ws.members, c.attendee);
                   erase_id(ws.former, c.attendee);
                 },
                 [&](CallChanged& c) { ws.call = std::move(c.call); },
                 [&](IdleChanged& c) { ws.idle_since_ms = c.idle_since_ms; },
                 [](WorkspacePut&) {},
                 [](WorkspaceDeleted&) {},
             },
             change);
}

}  // namespace ws::core
