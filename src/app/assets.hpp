// The static files compiled into the binary: the demo page (web/) and the SDK (client/).
#pragma once

#include <vector>

#include "net/server.hpp"

namespace ws::app {

/// Every embedded file with the URL path it is served at (/demo/..., /sdk/...). The bodies
/// are static data: valid for the life of the process. Generated at build time.
std::vector<net::StaticFile> embedded_static_files();

}  // namespace ws::app
