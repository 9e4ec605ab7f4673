// Tests for the wire names: every event has its PROTOCOL.md spelling and reads back.
#include "proto/names.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace ws::proto {
namespace {

using core::ClientEvent;
using core::ServerEvent;

TEST(Names, ClientEventsHaveTheirWireNamesBothWays) {
  struct Case {
    ClientEvent event;
    std::string_view want;
  };
  const Case cases[] = {
      {ClientEvent::kIceServers, "iceservers"},
      {ClientEvent::kCreate, "create"},
      {ClientEvent::kAttend, "attend"},
      {ClientEvent::kReAttend, "re-attend"},
      {ClientEvent::kLeave, "leave"},
      {ClientEvent::kDestroy, "destroy"},
      {ClientEvent::kKick, "kick"},
      {ClientEvent::kRing, "ring"},
      {ClientEvent::kAnswer, "answer"},
      {ClientEvent::kBusy, "busy"},
      {ClientEvent::kHangup, "hangup"},
      {ClientEvent::kIceCandidate, "icecandidate"},
      {ClientEvent::kNegotiation, "negotiation"},
      {ClientEvent::kMicToggle, "mic-toggle"},
      {ClientEvent::kCamToggle, "cam-toggle"},
      {ClientEvent::kAttendees, "attendees"},
      {ClientEvent::kRefresh, "refresh"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(name(c.event), c.want);
    EXPECT_EQ(client_event(c.want), c.event);
  }
}

TEST(Names, ServerEventsHaveTheirWireNamesBothWays) {
  struct Case {
    ServerEvent event;
    std::string_view want;
  };
  const Case cases[] = {
      {ServerEvent::kAlert, "alert"},
      {ServerEvent::kOk, "ok"},
      {ServerEvent::kIceServers, "iceservers"},
      {ServerEvent::kCreated, "created"},
      {ServerEvent::kAttendanceGranted, "attendance-granted"},
      {ServerEvent::kReAttendanceGranted, "re-attendance-granted"},
      {ServerEvent::kAttend, "attend"},
      {ServerEvent::kFull, "full"},
      {ServerEvent::kDestroyed, "destroyed"},
      {ServerEvent::kLeave, "leave"},
      {ServerEvent::kLeft, "left"},
      {ServerEvent::kKicked, "kicked"},
      {ServerEvent::kRing, "ring"},
      {ServerEvent::kRinging, "ringing"},
      {ServerEvent::kRingCancelled, "ring-cancelled"},
      {ServerEvent::kAnswer, "answer"},
      {ServerEvent::kBusy, "busy"},
      {ServerEvent::kHangup, "hangup"},
      {ServerEvent::kIceCandidate, "icecandidate"},
      {ServerEvent::kNegotiation, "negotiation"},
      {ServerEvent::kMicToggle, "mic-toggle"},
      {ServerEvent::kCamToggle, "cam-toggle"},
      {ServerEvent::kAttendees, "attendees"},
      {ServerEvent::kTokenRefreshed, "token-refreshed"},
      {ServerEvent::kReplaced, "replaced"},
      {ServerEvent::kServerShutdown, "server-shutdown"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(name(c.event), c.want);
    EXPECT_EQ(server_event(c.want), c.event);
  }
}

TEST(Names, UnknownSpellingsAreNotEvents) {
  using namespace std::string_view_literals;
  const std::string_view spellings[] = {"",         "Attend", "ATTEND", "attend ",    " attend",
                                        "reattend", "alert",  "ok",     "mic_toggle", "attend\0"sv};
  for (std::string_view spelling : spellings) {
    SCOPED_TRACE(spelling);
    EXPECT_EQ(client_event(spelling), std::nullopt);
  }
  EXPECT_EQ(server_event("create"), std::nullopt);
  EXPECT_EQ(server_event("Alert"), std::nullopt);
}

}  // namespace
}  // namespace ws::proto
