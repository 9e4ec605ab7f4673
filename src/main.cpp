// workspaces-server: argv -> config -> app::run(); exit codes 0 ok, 1 runtime failure, 2 config.
#include <cstdio>
#include <exception>

#include "app/app.hpp"
#include "auth/random.hpp"
#include "config/cli.hpp"
#include "config/config.hpp"

extern char** environ;

int main(int argc, char** argv) {
  try {
    auto cli = ws::config::parse_args(argc, argv);
    if (!cli) {
      std::fprintf(stderr, "workspaces-server: %s\n%s", cli.error().message.c_str(),
                   ws::config::usage().c_str());
      return 2;
    }
    if (cli->help) {
      std::fputs(ws::config::usage().c_str(), stdout);
      return 0;
    }
    if (cli->version) {
      std::printf("workspaces-server %s\n", WS_VERSION);
      return 0;
    }
    auto loaded = ws::config::load(*cli, ws::config::environment_from(environ));
    if (!loaded) {
      std::fprintf(stderr, "workspaces-server: %s\n", loaded.error().message.c_str());
      return 2;
    }
    auto checked = ws::config::check(loaded->config, [] { return ws::auth::random_secret(); });
    if (!checked) {
      std::fprintf(stderr, "workspaces-server: %s\n", checked.error().message.c_str());
      return 2;
    }
    auto warnings = loaded->warnings;
    warnings.insert(warnings.end(), checked->begin(), checked->end());
    return ws::app::run(loaded->config, warnings);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workspaces-server: fatal: %s\n", e.what());
    return 1;
  }
}
