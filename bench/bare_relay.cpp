// bare-relay --port P: what a minimal Beast WebSocket relay costs, as a speed reference. No
// auth, no JSON: a client upgrades on /?id=<ID>; a text frame "<dstId> <anything>" goes,
// unchanged, to the session registered as dstId (unknown: dropped). One thread.
#include <deque>
#include <iostream>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;
using Frame = std::shared_ptr<const std::string>;

class Session;
std::unordered_map<std::string, Session*> sessions;  // id -> live session

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {  // read the upgrade request ourselves: its target holds the id
    ws_.next_layer().expires_after(std::chrono::seconds(30));
    beast::http::async_read(
        ws_.next_layer(), buf_, req_, [self = shared_from_this()](auto ec, auto) {
          if (ec) return;
          const std::string_view target = self->req_.target();
          const auto at = target.find("id=");
          self->id_ = at == target.npos ? "" : target.substr(at + 3, target.find('&', at) - at - 3);
          self->ws_.next_layer().expires_never();
          self->ws_.set_option(
              websocket::stream_base::timeout::suggested(beast::role_type::server));
          self->ws_.async_accept(self->req_, [self](auto ec) {
            if (ec) return;
            sessions[self->id_] = self.get();
            self->read();
          });
        });
  }

  void send(Frame frame) {  // one write in flight; the rest wait in the queue
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) write();
  }

 private:
  void read() {
    buf_.consume(buf_.size());
    ws_.async_read(buf_, [self = shared_from_this()](auto ec, auto) {
      if (ec) {
        if (auto it = sessions.find(self->id_); it != sessions.end() && it->second == self.get())
          sessions.erase(it);
        return;
      }
      const std::string_view text(static_cast<const char*>(self->buf_.cdata().data()),
                                  self->buf_.size());
      const auto it = sessions.find(std::string(text.substr(0, text.find(' '))));
      if (it != sessions.end()) it->second->send(std::make_shared<const std::string>(text));
      self->read();
    });
  }

  void write() {
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(*queue_.front()),
                    [self = shared_from_this()](auto ec, auto) {
                      self->queue_.pop_front();
                      if (!ec && !self->queue_.empty()) self->write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  beast::http::request<beast::http::string_body> req_;
  std::string id_;
  std::deque<Frame> queue_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));  // relayed frames go out at once
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept(acceptor);
  });
}

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--port") {
    std::cerr << "usage: bare-relay --port P\n";
    return 2;
  }
  boost::asio::io_context io(1);
  tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"),
                              static_cast<boost::asio::ip::port_type>(std::stoi(argv[2]))});
  accept(acceptor);
  std::cout << "bare-relay listening on 127.0.0.1:" << acceptor.local_endpoint().port()
            << std::endl;
  io.run();
}
