// CoalescingStream: what it hands to the next layer (how many writes, which bytes, in what
// order), its backpressure, error propagation, flush before teardown, and outliving its flush.
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "net/detail/coalescing_stream.hpp"

namespace ws::net::detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

/// A next layer that records every write and completes it only when the test says so.
class FakeNext {
 public:
  using executor_type = asio::any_io_executor;
  explicit FakeNext(asio::io_context& ioc) : executor_(ioc.get_executor()) {}
  executor_type get_executor() { return executor_; }

  template <class MutableBuffers, class Token>
  void async_read_some(const MutableBuffers&, Token&&) {
    ADD_FAILURE() << "not read in these tests";
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    std::string bytes;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      asio::const_buffer b(*it);
      bytes.append(static_cast<const char*>(b.data()), b.size());
    }
    log->writes.push_back(bytes);
    log->pending = [h = std::forward<Handler>(handler), n = bytes.size()](error_code ec) mutable {
      h(ec, ec ? 0 : n);
    };
  }

  struct Log {
    std::vector<std::string> writes;          // one entry per write handed to us
    std::function<void(error_code)> pending;  // the write in flight, if any
    void complete(error_code ec = {}) {
      auto h = std::exchange(pending, nullptr);
      ASSERT_TRUE(h) << "no write in flight";
      h(ec);
    }
  };
  std::shared_ptr<Log> log = std::make_shared<Log>();

 private:
  executor_type executor_;
};

/// Runs what is ready (an io_context out of work stops, so restart it first).
void turn(asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

struct Written {
  int calls = 0;
  std::optional<error_code> ec;
  std::size_t bytes = 0;
};

auto record(Written& w) {
  return [&w](error_code ec, std::size_t n) {
    ++w.calls;
    w.ec = ec;
    w.bytes = n;
  };
}

TEST(CoalescingStream, WritesOfOneTurnLeaveInOneWriteInOrder) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  Written a, b, c;
  stream.async_write_some(asio::buffer(std::string_view("one|")), record(a));
  stream.async_write_some(asio::buffer(std::string_view("two|")), record(b));
  stream.async_write_some(asio::buffer(std::string_view("three")), record(c));
  EXPECT_EQ(a.calls, 0) << "never completes inline";
  turn(ioc);
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(a.bytes, 4u);
  EXPECT_EQ(c.bytes, 5u);
  ASSERT_EQ(log->writes.size(), 1u);
  EXPECT_EQ(log->writes[0], "one|two|three");
}

TEST(CoalescingStream, BytesWrittenDuringAFlushGatherForTheNextOne) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  Written w;
  stream.async_write_some(asio::buffer(std::string_view("a")), record(w));
  turn(ioc);
  ASSERT_EQ(log->writes.size(), 1u);
  for (const char* s : {"b", "c", "d"}) {
    stream.async_write_some(asio::buffer(std::string_view(s)), record(w));
  }
  turn(ioc);
  EXPECT_EQ(log->writes.size(), 1u) << "one write in flight at a time";
  EXPECT_EQ(w.calls, 4) << "small writes complete while the flush is in flight";
  log->complete();
  turn(ioc);
  ASSERT_EQ(log->writes.size(), 2u);
  EXPECT_EQ(log->writes[1], "bcd");
}

TEST(CoalescingStream, AWriteOverTheLimitWaitsUntilThePendingBytesLeave) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next), 10);
  Written first, small, big;
  stream.async_write_some(asio::buffer(std::string_view("12345")), record(first));
  turn(ioc);  // "12345" is in flight; the peer does not read
  stream.async_write_some(asio::buffer(std::string_view("678")), record(small));
  stream.async_write_some(asio::buffer(std::string_view("abcdefgh")), record(big));  // 11 > 10
  turn(ioc);
  EXPECT_EQ(small.calls, 1);
  EXPECT_EQ(big.calls, 0) << "backpressure: held until the bytes leave";
  log->complete();
  turn(ioc);
  EXPECT_EQ(big.calls, 1);
  EXPECT_EQ(big.bytes, 8u);
  ASSERT_EQ(log->writes.size(), 2u);
  EXPECT_EQ(log->writes[1], "678abcdefgh");
}

TEST(CoalescingStream, AFailedWriteFailsTheHeldWriteAndEveryLaterOne) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next), 4);
  Written first, held, later;
  stream.async_write_some(asio::buffer(std::string_view("xx")), record(first));
  turn(ioc);
  stream.async_write_some(asio::buffer(std::string_view("yyyyy")), record(held));
  turn(ioc);
  ASSERT_EQ(held.calls, 0);
  log->complete(asio::error::broken_pipe);
  turn(ioc);
  EXPECT_EQ(held.calls, 1);
  EXPECT_EQ(held.ec, asio::error::broken_pipe);
  stream.async_write_some(asio::buffer(std::string_view("z")), record(later));
  turn(ioc);
  EXPECT_EQ(later.ec, asio::error::broken_pipe);
  EXPECT_EQ(log->writes.size(), 1u) << "nothing more is written after a failure";
}

TEST(CoalescingStream, FlushCompletesOnceEverythingWrittenHasLeft) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  Written w;
  int flushed = 0;
  stream.async_write_some(asio::buffer(std::string_view("close-frame")), record(w));
  stream.async_flush([&](error_code ec) {
    EXPECT_FALSE(ec);
    ++flushed;
  });
  turn(ioc);
  EXPECT_EQ(flushed, 0);
  ASSERT_EQ(log->writes.size(), 1u);
  log->complete();
  turn(ioc);
  EXPECT_EQ(flushed, 1);

  stream.async_flush([&](error_code) { ++flushed; });  // nothing pending: at once
  turn(ioc);
  EXPECT_EQ(flushed, 2);
}

TEST(CoalescingStream, AFlushThatOutlivesTheStreamTouchesNothing) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  {
    CoalescingStream<FakeNext> stream(std::move(next));
    stream.async_write_some(asio::buffer(std::string_view("bytes")),
                            [](error_code, std::size_t) {});
    turn(ioc);
    ASSERT_EQ(log->writes.size(), 1u);
  }
  log->complete();  // the socket's write ends after the session went away (ASan would see it)
  turn(ioc);
  SUCCEED();
}

TEST(CoalescingStream, WriteFrameEncodesEachLengthFormAndKeepsOrderWithOtherWrites) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  stream.write_frame(1, "hi");
  Written w;
  const std::string pong("\x8a\x00", 2);
  stream.async_write_some(asio::buffer(pong), record(w));
  stream.write_frame(1, std::string(126, 'm'));
  stream.write_frame(2, std::string(65536, 'l'));
  turn(ioc);
  EXPECT_EQ(stream.buffered(), 4 + 2 + 4 + 126 + 10 + 65536u) << "pending until written";
  // One flush; Asio hands it over in pieces of at most 64 KiB, so join them.
  std::string out;
  while (log->pending) {
    log->complete();
    turn(ioc);
  }
  for (const auto& w : log->writes) out += w;
  EXPECT_EQ(stream.buffered(), 0u);
  std::size_t at = 0;
  auto take = [&](std::size_t n) {
    std::string part = out.substr(at, n);
    at += n;
    return part;
  };
  EXPECT_EQ(take(4), std::string("\x81\x02hi", 4));
  EXPECT_EQ(take(2), pong);
  EXPECT_EQ(take(4), std::string("\x81\x7e\x00\x7e", 4));  // 126: 16-bit length
  EXPECT_TRUE(take(126) == std::string(126, 'm'));
  EXPECT_EQ(take(10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));  // 64-bit
  EXPECT_TRUE(take(65536) == std::string(65536, 'l'));
  EXPECT_EQ(at, out.size());
}

}  // namespace
}  // namespace ws::net::detail
