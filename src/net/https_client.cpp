// HTTPS client: resolve, connect, TLS handshake with verification, one request, one response.
#include "net/https_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace ws::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using core::ErrorCode;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Target {
  std::string host;  // without brackets
  std::string port;
  std::string path;  // path and query, "/" at least
  bool host_is_ip = false;
};

core::Result<Target> parse_target(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return core::fail(ErrorCode::kBadRequest, "not an absolute URL");
  if (u->scheme() != "https") return core::fail(ErrorCode::kBadRequest, "only https:// URLs");
  if (u->has_userinfo()) return core::fail(ErrorCode::kBadRequest, "credentials in the URL");
  Target t;
  t.host = u->host_address();
  if (t.host.empty()) return core::fail(ErrorCode::kBadRequest, "no host in the URL");
  t.host_is_ip = u->host_type() == boost::urls::host_type::ipv4 ||
                 u->host_type() == boost::urls::host_type::ipv6;
  t.port = u->has_port() ? std::string(u->port()) : "443";
  t.path = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

std::string describe(const error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    // e.g. "certificate verify failed (SSL routines)": OpenSSL's reason string.
    return "TLS: " + ec.message();
  }
  return ec.message();
}

using Outcome = core::Result<ice::HttpResponse>;

asio::awaitable<Outcome> exchange(ice::HttpRequest request, Target target,
                                  std::shared_ptr<ssl::context> tls, std::size_t max_body,
                                  std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = target.host + ":" + target.port;
  auto failed = [&](const std::string& step, const error_code& ec) -> Outcome {
    return core::fail(ErrorCode::kUnavailable,
                      step + " " + where + " failed: " + describe(ec, timeout));
  };
  auto ex = co_await asio::this_coro::executor;

  // DNS has no timeout of its own: race it against the deadline.
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, deadline);
  auto raced = co_await (resolver.async_resolve(target.host, target.port, kTuple) ||
                         timer.async_wait(kTuple));
  if (raced.index() == 1) co_return failed("resolving", asio::error::operation_aborted);
  auto [resolve_ec, endpoints] = std::get<0>(std::move(raced));
  if (resolve_ec) co_return failed("resolving", resolve_ec);

  beast::ssl_stream<beast::tcp_stream> stream(ex, *tls);
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(target.host));
  if (!target.host_is_ip &&
      !SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str())) {
    co_return core::fail(ErrorCode::kInternal, "cannot set SNI for " + where);
  }
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_at(deadline);
  if (auto [ec, ep] = co_await tcp_layer.async_connect(endpoints, kTuple); ec) {
    co_return failed("connecting to", ec);
  }
  if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple); ec) {
    co_return failed("TLS handshake with", ec);
  }

  http::request<http::string_body> req;
  req.method(http::string_to_verb(request.method));
  if (req.method() == http::verb::unknown) req.method_string(request.method);
  req.target(target.path);
  req.version(11);
  req.set(http::field::host, target.port == "443" ? target.host : where);
  req.set(http::field::user_agent, "workspaces-server/" WS_VERSION);
  req.set(http::field::connection, "close");
  for (auto& [name, value] : request.headers) req.set(name, value);
  req.body() = std::move(request.body);
  req.prepare_payload();
  if (auto [ec, n] = co_await http::async_write(stream, req, kTuple); ec) {
    co_return failed("sending to", ec);
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple); ec) {
    if (ec == http::error::body_limit) {
      co_return core::fail(ErrorCode::kUnavailable, "response from " + where + " exceeds " +
                                                        std::to_string(max_body) + " bytes");
    }
    co_return failed("reading from", ec);
  }
  auto res = parser.release();
  error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return ice::HttpResponse{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace

core::Result<std::shared_ptr<ssl::context>> system_trust_context() {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->set_default_verify_paths(ec);
  if (ec) {
    return core::fail(ErrorCode::kInternal, "cannot load the system trust store: " + ec.message());
  }
  return ctx;
}

HttpsClient::HttpsClient(asio::any_io_executor executor, std::shared_ptr<ssl::context> tls,
                         std::size_t max_body)
    : executor_(std::move(executor)), tls_(std::move(tls)), max_body_(max_body) {}

void HttpsClient::send(ice::HttpRequest request, std::chrono::milliseconds timeout, Done done) {
  auto target = parse_target(request.url);
  if (!target) {
    done(core::fail(ErrorCode::kBadRequest, "bad request URL: " + target.error().message));
    return;
  }
  asio::co_spawn(asio::make_strand(executor_),
                 exchange(std::move(request), std::move(*target), tls_, max_body_, timeout),
                 [done = std::move(done)](std::exception_ptr error, Outcome outcome) {
                   if (error) {
                     std::string what = "unexpected error";
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       what = e.what();
                     } catch (...) {
                     }
                     done(core::fail(ErrorCode::kInternal, "HTTPS request failed: " + what));
                     return;
                   }
                   done(std::move(outcome));
                 });
}

}  // namespace ws::net
