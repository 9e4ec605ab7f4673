// Metrics: counters, histogram and the Prometheus text exposition format (0.0.4).
#include "net/metrics.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ws::net {
namespace {

bool contains_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

// Checks the exposition format: every line is HELP, TYPE or a sample; every sample's family was
// declared (TYPE) before it and only once; values parse as floats; the text ends with '\n'.
void expect_valid_exposition(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*")"
      R"((,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*")*\})? (\S+))");
  std::set<std::string> typed, helped;
  std::map<std::string, std::string> kinds;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    SCOPED_TRACE(line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice";
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "TYPE twice";
      kinds[m[1]] = m[2];
    } else if (std::regex_match(line, m, sample)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = family.substr(0, family.size() - std::strlen(suffix));
        if (family.ends_with(suffix) && kinds[base] == "histogram") family = base;
      }
      EXPECT_TRUE(typed.count(family)) << "sample before its TYPE";
      const std::string value = m[m.size() - 1];
      if (value != "+Inf" && value != "-Inf" && value != "NaN") {
        char* end = nullptr;
        std::strtod(value.c_str(), &end);
        EXPECT_EQ(*end, '\0') << "bad value";
      }
    } else {
      ADD_FAILURE() << "not an exposition line";
    }
  }
}

TEST(Metrics, FreshRenderDeclaresEveryFamilyWithZeroes) {
  Metrics metrics;
  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  for (const char* line : {
           "# TYPE workspaces_connections_open gauge",
           "workspaces_connections_open{transport=\"native\"} 0",
           "workspaces_connections_open{transport=\"eio4\"} 0",
           "workspaces_connections_open{transport=\"eio3\"} 0",
           "# TYPE workspaces_frames_in_total counter",
           "# TYPE workspaces_frames_out_total counter",
           "# TYPE workspaces_alerts_total counter",
           "# TYPE workspaces_auth_failures_total counter",
           "workspaces_auth_failures_total 0",
           "# TYPE workspaces_pin_failures_total counter",
           "workspaces_pin_failures_total 0",
           "# TYPE workspaces_relay_latency_seconds histogram",
           "workspaces_relay_latency_seconds_bucket{le=\"0.0001\"} 0",
           "workspaces_relay_latency_seconds_bucket{le=\"1\"} 0",
           "workspaces_relay_latency_seconds_bucket{le=\"+Inf\"} 0",
           "workspaces_relay_latency_seconds_sum 0",
           "workspaces_relay_latency_seconds_count 0",
           "# TYPE workspaces_ice_requests_total counter",
           "# TYPE workspaces_ice_failures_total counter",
           "# TYPE workspaces_ice_twilio_fetch_seconds histogram",
           "workspaces_ice_twilio_fetch_seconds_bucket{le=\"10\"} 0",
           "workspaces_ice_twilio_fetch_seconds_count 0",
           "workspaces_ice_twilio_fetch_failures_total 0",
           "# TYPE workspaces_tls_reloads_total counter",
           "workspaces_tls_reloads_total{result=\"ok\"} 0",
           "workspaces_tls_reloads_total{result=\"failed\"} 0",
       }) {
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_EQ(text.find("workspaces_tls_certificate_not_after_seconds"), std::string::npos)
      << "no certificate expiry without TLS";
}

TEST(Metrics, CountsConnectionsFramesAlertsAndFailures) {
  Metrics metrics;
  metrics.connection_opened(Transport::kNative);
  metrics.connection_opened(Transport::kNative);
  metrics.connection_closed(Transport::kNative);
  metrics.connection_opened(Transport::kEio4);
  metrics.frame_in(Transport::kNative, "attend");
  metrics.frame_in(Transport::kNative, "attend");
  metrics.frame_in(Transport::kEio3, "ring");
  metrics.frame_out(Transport::kNative, "icecandidate", 3);
  metrics.frame_out(Transport::kNative, "icecandidate");
  metrics.alert("forbidden");
  metrics.alert("forbidden");
  metrics.alert("bad_request");
  metrics.auth_failure();
  metrics.pin_failure();
  metrics.pin_failure();

  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  for (const char* line : {
           "workspaces_connections_open{transport=\"native\"} 1",
           "workspaces_connections_open{transport=\"eio4\"} 1",
           "workspaces_frames_in_total{transport=\"native\",event=\"attend\"} 2",
           "workspaces_frames_in_total{transport=\"eio3\",event=\"ring\"} 1",
           "workspaces_frames_out_total{transport=\"native\",event=\"icecandidate\"} 4",
           "workspaces_alerts_total{code=\"forbidden\"} 2",
           "workspaces_alerts_total{code=\"bad_request\"} 1",
           "workspaces_auth_failures_total 1",
           "workspaces_pin_failures_total 2",
       }) {
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
}

TEST(Metrics, HistogramBucketsAreCumulativeAndUpperInclusive) {
  Metrics metrics;
  metrics.observe_relay_latency(0.0001);  // exactly on a bound: counts in that bucket (le)
  metrics.observe_relay_latency(0.0003);
  metrics.observe_relay_latency(0.002);
  metrics.observe_relay_latency(2.0);  // only +Inf
  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  struct Case {
    const char* le;
    int want;
  };
  for (const Case& c : {Case{"0.0001", 1}, Case{"0.00025", 1}, Case{"0.0005", 2}, Case{"0.001", 2},
                        Case{"0.0025", 3}, Case{"0.5", 3}, Case{"1", 3}, Case{"+Inf", 4}}) {
    const std::string line = std::string("workspaces_relay_latency_seconds_bucket{le=\"") + c.le +
                             "\"} " + std::to_string(c.want);
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_TRUE(contains_line(text, "workspaces_relay_latency_seconds_count 4"));
  const std::string sum_prefix = "workspaces_relay_latency_seconds_sum ";
  const auto at = text.find(sum_prefix);
  ASSERT_NE(at, std::string::npos);
  EXPECT_NEAR(std::strtod(text.c_str() + at + sum_prefix.size(), nullptr), 2.0024, 1e-9);
}

TEST(Metrics, CountsIceRequestsAndFailuresPerProviderAndTwilioFetches) {
  Metrics metrics;
  metrics.ice_attempt("twilio", false);
  metrics.ice_attempt("twilio", true);
  metrics.ice_attempt("twilio", true);
  metrics.ice_attempt("turn-rest", true);
  metrics.twilio_fetch(true, 0.08);
  metrics.twilio_fetch(false, 5.0);
  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  for (const char* line : {
           "workspaces_ice_requests_total{provider=\"twilio\"} 3",
           "workspaces_ice_requests_total{provider=\"turn-rest\"} 1",
           "workspaces_ice_failures_total{provider=\"twilio\"} 1",
           "workspaces_ice_twilio_fetch_seconds_bucket{le=\"0.05\"} 0",
           "workspaces_ice_twilio_fetch_seconds_bucket{le=\"0.1\"} 1",
           "workspaces_ice_twilio_fetch_seconds_bucket{le=\"2.5\"} 1",
           "workspaces_ice_twilio_fetch_seconds_bucket{le=\"5\"} 2",
           "workspaces_ice_twilio_fetch_seconds_count 2",
           "workspaces_ice_twilio_fetch_failures_total 1",
       }) {
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_FALSE(contains_line(text, "workspaces_ice_failures_total{provider=\"turn-rest\"} 0"))
      << "providers that never failed have no failure series";
}

TEST(Metrics, CountsTlsReloadsByResultAndShowsTheCertificateExpiry) {
  Metrics metrics;
  metrics.tls_certificate_not_after(1700000000);
  metrics.tls_reload(true);
  metrics.tls_reload(false);
  metrics.tls_reload(false);
  metrics.tls_certificate_not_after(1800000000);
  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  for (const char* line : {
           "workspaces_tls_reloads_total{result=\"ok\"} 1",
           "workspaces_tls_reloads_total{result=\"failed\"} 2",
           "# TYPE workspaces_tls_certificate_not_after_seconds gauge",
           "workspaces_tls_certificate_not_after_seconds 1800000000",
       }) {
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
}

TEST(Metrics, RendersExtraCountersAsCounters) {
  Metrics metrics;
  const std::string text =
      metrics.render({{"workspaces_gauge", 2}}, {{"workspaces_things_total", 7}});
  expect_valid_exposition(text);
  EXPECT_TRUE(contains_line(text, "# TYPE workspaces_things_total counter"));
  EXPECT_TRUE(contains_line(text, "workspaces_things_total 7"));
  EXPECT_TRUE(contains_line(text, "# TYPE workspaces_gauge gauge"));
}

TEST(Metrics, EscapesLabelValues) {
  Metrics metrics;
  metrics.frame_in(Transport::kNative, "a\"b\\c\nd");
  metrics.alert("x\"y");
  const std::string text = metrics.render({});
  expect_valid_exposition(text);
  EXPECT_TRUE(
      contains_line(text, R"(workspaces_frames_in_total{transport="native",event="a\"b\\c\nd"} 1)"))
      << text;
  EXPECT_TRUE(contains_line(text, R"(workspaces_alerts_total{code="x\"y"} 1)")) << text;
}

TEST(Metrics, RendersExtraGaugesWithSanitisedNames) {
  Metrics metrics;
  const std::string text =
      metrics.render({{"workspaces_workspaces", 3}, {"bad name-1", 1.5}, {"9lives", 0}});
  expect_valid_exposition(text);
  for (const char* line : {"# TYPE workspaces_workspaces gauge", "workspaces_workspaces 3",
                           "# TYPE bad_name_1 gauge", "bad_name_1 1.5", "_lives 0"}) {
    EXPECT_TRUE(contains_line(text, line)) << line << "\nin:\n" << text;
  }
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 1000; ++i) {
        metrics.frame_in(Transport::kNative, "relay");
        metrics.observe_relay_latency(0.001);
        metrics.auth_failure();
        if (i % 100 == 0) (void)metrics.render({});
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = metrics.render({});
  EXPECT_TRUE(
      contains_line(text, "workspaces_frames_in_total{transport=\"native\",event=\"relay\"} 4000"));
  EXPECT_TRUE(contains_line(text, "workspaces_relay_latency_seconds_count 4000"));
  EXPECT_TRUE(contains_line(text, "workspaces_auth_failures_total 4000"));
}

}  // namespace
}  // namespace ws::net
