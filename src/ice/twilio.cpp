// Twilio NTS: request, parse, cache, single flight, failure streaks.
#include "ice/twilio.hpp"

#include <mutex>
#include <optional>
#include <vector>

#include <boost/json/parse.hpp>

#include "auth/jwt.hpp"

namespace ws::ice {

namespace json = boost::json;
using core::ErrorCode;

namespace {

core::Result<TwilioTokens> malformed(std::string what) {
  return core::fail(ErrorCode::kUnavailable, "malformed Tokens.json: " + std::move(what));
}

bool is_ice_url(std::string_view url) {
  return url.starts_with("stun:") || url.starts_with("stuns:") || url.starts_with("turn:") ||
         url.starts_with("turns:");
}

/// `ttl` as a number or a string of digits, in seconds (1 s .. 10 years).
std::optional<std::int64_t> parse_ttl(const json::value& v) {
  std::int64_t ttl = -1;
  if (v.is_int64()) {
    ttl = v.as_int64();
  } else if (v.is_uint64()) {
    ttl = v.as_uint64() > 400'000'000u ? -1 : static_cast<std::int64_t>(v.as_uint64());
  } else if (v.is_string()) {
    const auto& s = v.as_string();
    if (s.empty() || s.size() > 9) return std::nullopt;
    ttl = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return std::nullopt;
      ttl = ttl * 10 + (ch - '0');
    }
  } else {
    return std::nullopt;
  }
  if (ttl < 1 || ttl > 315'360'000) return std::nullopt;
  return ttl;
}

}  // namespace

core::Result<TwilioTokens> parse_twilio_tokens(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return malformed("not JSON");
  if (!doc.is_object()) return malformed("not an object");
  const auto& obj = doc.as_object();
  TwilioTokens out;
  if (const auto* ttl = obj.if_contains("ttl")) {
    auto parsed = parse_ttl(*ttl);
    if (!parsed) return malformed("ttl is not a positive number of seconds");
    out.ttl_seconds = *parsed;
  }
  const auto* list = obj.if_contains("ice_servers");
  if (!list || !list->is_array()) return malformed("ice_servers is not an array");
  for (const auto& entry : list->as_array()) {
    if (!entry.is_object()) return malformed("an ice_servers entry is not an object");
    const auto& e = entry.as_object();
    const json::value* urls = e.if_contains("urls");
    if (!urls) urls = e.if_contains("url");
    if (!urls) return malformed("an ice_servers entry has no urls");
    json::array url_list;
    if (urls->is_string()) {
      url_list.push_back(*urls);
    } else if (urls->is_array()) {
      url_list = urls->as_array();
    } else {
      return malformed("urls is neither a string nor an array");
    }
    if (url_list.empty()) return malformed("urls is empty");
    for (const auto& u : url_list) {
      if (!u.is_string() || !is_ice_url(u.as_string())) {
        return malformed("urls holds something other than a stun:/turn: URL");
      }
    }
    json::object server;
    server["urls"] = urls->is_string() ? json::value(urls->as_string()) : json::value(url_list);
    for (const char* key : {"username", "credential"}) {
      if (const auto* v = e.if_contains(key)) {
        if (!v->is_string()) return malformed(std::string(key) + " is not a string");
        server[key] = *v;
      }
    }
    out.servers.push_back(std::move(server));
  }
  if (out.servers.empty()) return malformed("ice_servers is empty");
  return out;
}

std::string twilio_tokens_url(std::string_view api_base, std::string_view account_sid) {
  std::string url(api_base);
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/2010-04-01/Accounts/";
  url += account_sid;
  url += "/Tokens.json";
  return url;
}

struct TwilioIceProvider::State {
  TwilioOptions options;
  HttpClient& http;
  TwilioObserver observer;
  Now now;
  std::string authorization;  // "Basic base64(sid:token)"

  std::mutex mu;  // guards everything below
  struct Cached {
    json::array servers;
    Clock::time_point refresh_at;  // fetched + ttl/2: fetch again after this
    Clock::time_point expires_at;  // fetched + ttl: never served after this
  };
  std::optional<Cached> cache;
  bool in_flight = false;
  std::vector<Done> waiters;
  std::uint64_t failures = 0;  // current failure streak

  State(TwilioOptions o, HttpClient& h, TwilioObserver obs, Now n)
      : options(std::move(o)), http(h), observer(std::move(obs)), now(std::move(n)) {
    authorization = "Basic " + auth::base64_encode(options.account_sid + ":" + options.auth_token);
  }

  void log(core::LogLevel level, std::string event,
           std::vector<std::pair<std::string, std::string>> fields) {
    if (observer.log) observer.log(core::Log{level, std::move(event), std::move(fields)});
  }

  static void start(const std::shared_ptr<State>& self) {
    HttpRequest req;
    req.method = "POST";
    req.url = twilio_tokens_url(self->options.api_base, self->options.account_sid);
    req.headers = {{"Authorization", self->authorization},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    const auto started = self->now();
    self->http.send(
        std::move(req), self->options.timeout,
        [self, started](core::Result<HttpResponse> res) { self->finish(started, std::move(res)); });
  }

  static core::Result<TwilioTokens> interpret(core::Result<HttpResponse> res) {
    if (!res) return tl::unexpected(res.error());
    if (res->status < 200 || res->status > 299) {
      std::string message = "HTTP " + std::to_string(res->status);
      // Twilio's error bodies carry a numeric "code" (e.g. 20003 = authentication failed).
      // Only that number is kept: free text from the body could echo back a credential.
      boost::system::error_code ec;
      json::value doc = json::parse(res->body, ec);
      if (!ec && doc.is_object()) {
        if (const auto* code = doc.as_object().if_contains("code"); code && code->is_int64()) {
          message += " (Twilio error " + std::to_string(code->as_int64()) + ")";
        }
      }
      return core::fail(ErrorCode::kUnavailable, std::move(message));
    }
    return parse_twilio_tokens(res->body);
  }

  void finish(Clock::time_point started, core::Result<HttpResponse> res) {
    const auto t = now();
    auto tokens = interpret(std::move(res));
    if (observer.fetched) observer.fetched(tokens.has_value(), t - started);

    core::Result<json::array> answer = core::fail(ErrorCode::kUnavailable, "");
    std::vector<Done> ready;
    {
      std::lock_guard lock(mu);
      in_flight = false;
      ready.swap(waiters);
      if (tokens) {
        const auto ttl = std::chrono::seconds(tokens->ttl_seconds);
        cache = Cached{tokens->servers, t + ttl / 2, t + ttl};
        if (failures > 0) {
          log(core::LogLevel::kInfo, "ice.twilio_recovered",
              {{"failures", std::to_string(failures)}});
        }
        failures = 0;
        answer = std::move(tokens->servers);
      } else {
        const bool stale_ok = cache && t < cache->expires_at;
        if (++failures == 1) {  // once per streak; /metrics counts every failure
          log(core::LogLevel::kWarn, "ice.twilio_failed",
              {{"reason", tokens.error().message},
               {"serving", stale_ok ? "cached servers" : "next provider"}});
        }
        if (stale_ok) {
          answer = cache->servers;
        } else {
          answer = core::fail(ErrorCode::kUnavailable, "twilio: " + tokens.error().message);
        }
      }
    }
    for (auto& done : ready) done(answer);
  }
};

TwilioIceProvider::TwilioIceProvider(TwilioOptions options, HttpClient& http,
                                     TwilioObserver observer, Now now)
    : state_(
          std::make_shared<State>(std::move(options), http, std::move(observer), std::move(now))) {}

void TwilioIceProvider::fetch(const std::optional<core::AttendeeId>&, Done done) {
  std::unique_lock lock(state_->mu);
  if (state_->cache && state_->now() < state_->cache->refresh_at) {
    json::array servers = state_->cache->servers;
    lock.unlock();
    done(std::move(servers));
    return;
  }
  state_->waiters.push_back(std::move(done));
  if (state_->in_flight) return;
  state_->in_flight = true;
  lock.unlock();
  State::start(state_);
}

}  // namespace ws::ice
