// The HTTP seam of the ICE providers: one request, one response, asynchronously.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace ws::ice {

/// One outgoing request. `url` is absolute (`https://host[:port]/path`).
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// A complete response: status and body (headers are not needed by any provider).
struct HttpResponse {
  int status = 0;
  std::string body;
};

/// Sends requests without blocking the caller. `done` runs exactly once, on a thread of the
/// implementation's choosing, with the response (any status) or an error: could not connect,
/// TLS or certificate failure, `timeout` exceeded (connect + TLS + request + response), a
/// response too large or malformed. Error messages never contain header values.
class HttpClient {
 public:
  using Done = std::function<void(core::Result<HttpResponse>)>;
  virtual ~HttpClient() = default;
  virtual void send(HttpRequest request, std::chrono::milliseconds timeout, Done done) = 0;
};

}  // namespace ws::ice
