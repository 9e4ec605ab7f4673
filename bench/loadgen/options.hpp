// Command line of workspaces-loadgen: every option is `--key value`.
#pragma once

#include <string>

namespace lg {

enum class TargetKind { kWorkspaces, kPeerjs, kBare };

struct Options {
  TargetKind target = TargetKind::kWorkspaces;
  std::string target_name = "workspaces";
  std::string host = "127.0.0.1";
  int port = 9090;
  std::string scenario = "relay";
  int pairs = 100;
  int window = 8;
  int size = 1024;
  double seconds = 5;
  double warmup = 1;
  double rate = 5000;
  bool rate_given = false;  // pinstorm defaults to 1000/s unless --rate is given
  int conns = 1000;
  int concurrency = 50;
  std::string churn_mode = "reattend";
  int members = 20;
  std::string pin = "4321";
  int server_pid = 0;  // 0: no server statistics
  std::string peerjs_path = "/peerjs";
  std::string peerjs_key = "peerjs";
};

/// Parses argv into `o`; throws std::invalid_argument with a readable message on bad usage
/// (`o` then holds what was parsed before the bad option).
void parse_options(int argc, char** argv, Options& o);

/// The usage text printed on --help.
const char* usage();

}  // namespace lg
