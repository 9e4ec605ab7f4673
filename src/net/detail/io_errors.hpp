// The one place that decides which I/O errors are routine (peer went away) and not worth a log.
#pragma once

#include <boost/system/error_code.hpp>

namespace ws::net::detail {

/// True for the errors every connection ends with sooner or later: our own cancellation, a
/// WebSocket or HTTP peer closing, EOF, reset, a TLS peer that skipped close_notify. Pure.
bool is_benign(const boost::system::error_code& ec);

}  // namespace ws::net::detail
