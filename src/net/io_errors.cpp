// is_benign(): classification of routine I/O errors.
#include "net/detail/io_errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace ws::net::detail {

bool is_benign(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::not_connected || ec == asio::ssl::error::stream_truncated ||
         ec == boost::beast::websocket::error::closed ||
         ec == boost::beast::http::error::end_of_stream;
}

}  // namespace ws::net::detail
