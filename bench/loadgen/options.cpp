#include "options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>

namespace lg {
namespace {

int to_int(std::string_view key, std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw std::invalid_argument("--" + std::string(key) + " wants an integer in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                std::string(text) + "'");
  }
  return value;
}

double to_double(std::string_view key, std::string_view text, double min, double max) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(std::string(text), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(value) || value < min || value > max) {
    throw std::invalid_argument("--" + std::string(key) + " wants a number in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                std::string(text) + "'");
  }
  return value;
}

std::string one_of(std::string_view key, std::string_view text,
                   std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == text) return std::string(text);
  }
  std::string list;
  for (auto a : allowed) {
    if (!list.empty()) list += '|';
    list += a;
  }
  throw std::invalid_argument("--" + std::string(key) + " wants " + list + ", got '" +
                              std::string(text) + "'");
}

}  // namespace

const char* usage() {
  return "usage: workspaces-loadgen [--key value]...\n"
         "  --target workspaces|peerjs|bare  --host 127.0.0.1  --port P\n"
         "  --scenario relay|latency|memory|churn|fanout|pinstorm\n"
         "  --pairs 100  --window 8  --size 1024  --seconds 5  --warmup 1  --rate 5000\n"
         "  --conns 1000  --concurrency 50  --churn-mode reattend|attend  --members 20\n"
         "  --pin 4321  --server-pid PID  --peerjs-path /peerjs  --peerjs-key peerjs\n"
         "Prints one JSON object on stdout; exit status 0 when ok, 1 otherwise.\n";
}

void parse_options(int argc, char** argv, Options& o) {
  using Setter = std::function<void(std::string_view key, std::string_view value)>;
  const std::map<std::string_view, Setter> setters = {
      {"target",
       [&](auto k, auto v) {
         o.target_name = one_of(k, v, {"workspaces", "peerjs", "bare"});
         o.target = v == "workspaces" ? TargetKind::kWorkspaces
                    : v == "peerjs"   ? TargetKind::kPeerjs
                                      : TargetKind::kBare;
       }},
      {"host", [&](auto, auto v) { o.host = v; }},
      {"port", [&](auto k, auto v) { o.port = to_int(k, v, 1, 65535); }},
      {"scenario",
       [&](auto k, auto v) {
         o.scenario = one_of(k, v, {"relay", "latency", "memory", "churn", "fanout", "pinstorm"});
       }},
      {"pairs", [&](auto k, auto v) { o.pairs = to_int(k, v, 1, 100000); }},
      {"window", [&](auto k, auto v) { o.window = to_int(k, v, 1, 10000); }},
      {"size", [&](auto k, auto v) { o.size = to_int(k, v, 1, 16 << 20); }},
      {"seconds", [&](auto k, auto v) { o.seconds = to_double(k, v, 0.1, 86400); }},
      {"warmup", [&](auto k, auto v) { o.warmup = to_double(k, v, 0, 86400); }},
      {"rate",
       [&](auto k, auto v) {
         o.rate = to_double(k, v, 1, 1e8);
         o.rate_given = true;
       }},
      {"conns", [&](auto k, auto v) { o.conns = to_int(k, v, 1, 1000000); }},
      {"concurrency", [&](auto k, auto v) { o.concurrency = to_int(k, v, 1, 100000); }},
      {"churn-mode",
       [&](auto k, auto v) {
         o.churn_mode = one_of(k, v, {"reattend", "attend"});
       }},
      {"members", [&](auto k, auto v) { o.members = to_int(k, v, 2, 100000); }},
      {"pin", [&](auto, auto v) { o.pin = v; }},
      {"server-pid", [&](auto k, auto v) { o.server_pid = to_int(k, v, 1, 1 << 30); }},
      {"peerjs-path", [&](auto, auto v) { o.peerjs_path = v; }},
      {"peerjs-key", [&](auto, auto v) { o.peerjs_key = v; }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--"))
      throw std::invalid_argument("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    const auto it = setters.find(arg);
    if (it == setters.end()) throw std::invalid_argument("unknown option --" + std::string(arg));
    if (i + 1 >= argc) throw std::invalid_argument("--" + std::string(arg) + " needs a value");
    it->second(arg, argv[++i]);
  }
  if (o.scenario == "pinstorm" && !o.rate_given) o.rate = 1000;
}

}  // namespace lg
