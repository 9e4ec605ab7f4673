// CoalescingStream: what it hands to the next layer (how many writes, which bytes, in what
// order), the bytes it counts as buffered, error propagation, flush before teardown, and
// outliving its flush.
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

TEST(CoalescingStream, WritesOfOneTurnLeaveInOneWriteInOrder) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  stream.write("one|");
  stream.write("two|");
  stream.write("three");
  EXPECT_TRUE(log->writes.empty()) << "nothing is written inline";
  EXPECT_EQ(stream.buffered(), 13u);
  turn(ioc);
  ASSERT_EQ(log->writes.size(), 1u);
  EXPECT_EQ(log->writes[0], "one|two|three");
  EXPECT_TRUE(stream.flushing());
  log->complete();
  turn(ioc);
  EXPECT_FALSE(stream.flushing());
  EXPECT_EQ(stream.flushes_done(), 1u);
  EXPECT_EQ(stream.buffered(), 0u);
}

TEST(CoalescingStream, BytesWrittenDuringAFlushGatherForTheNextOne) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  stream.write("a");
  turn(ioc);
  ASSERT_EQ(log->writes.size(), 1u);
  for (const char* s : {"b", "c", "d"}) stream.write(s);
  turn(ioc);
  EXPECT_EQ(log->writes.size(), 1u) << "one write in flight at a time";
  EXPECT_EQ(stream.buffered(), 4u) << "in flight and pending both count";
  log->complete();
  turn(ioc);
  ASSERT_EQ(log->writes.size(), 2u);
  EXPECT_EQ(log->writes[1], "bcd");
}

TEST(CoalescingStream, AfterAFailedWriteNothingMoreIsWrittenAndFlushesReportTheError) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  stream.write("xx");
  turn(ioc);
  stream.write("yy");  // pending behind the write that fails
  std::optional<error_code> flushed;
  stream.async_flush([&](error_code ec) { flushed = ec; });
  log->complete(asio::error::broken_pipe);
  turn(ioc);
  EXPECT_EQ(flushed, asio::error::broken_pipe);
  EXPECT_EQ(stream.buffered(), 0u) << "what was pending is dropped";
  stream.write_frame(WsOpcode::kText, "z");
  turn(ioc);
  EXPECT_EQ(log->writes.size(), 1u) << "nothing more is written after a failure";
  std::optional<error_code> later;
  stream.async_flush([&](error_code ec) { later = ec; });
  turn(ioc);
  EXPECT_EQ(later, asio::error::broken_pipe);
}

TEST(CoalescingStream, FlushCompletesOnceEverythingWrittenHasLeft) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  int flushed = 0;
  stream.write_frame(WsOpcode::kClose, close_payload(1000, ""));
  stream.async_flush([&](error_code ec) {
    EXPECT_FALSE(ec);
    ++flushed;
  });
  turn(ioc);
  EXPECT_EQ(flushed, 0);
  ASSERT_EQ(log->writes.size(), 1u);
  EXPECT_EQ(log->writes[0], std::string("\x88\x02\x03\xe8", 4));
  log->complete();
  turn(ioc);
  EXPECT_EQ(flushed, 1);

  stream.async_flush([&](error_code) { ++flushed; });  // nothing pending: at once
  EXPECT_EQ(flushed, 1) << "never inline";
  turn(ioc);
  EXPECT_EQ(flushed, 2);
}

TEST(CoalescingStream, AFlushThatOutlivesTheStreamTouchesNothing) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  {
    CoalescingStream<FakeNext> stream(std::move(next));
    stream.write("bytes");
    turn(ioc);
    ASSERT_EQ(log->writes.size(), 1u);
  }
  log->complete();  // the socket's write ends after the session went away (ASan would see it)
  turn(ioc);
  SUCCEED();
}

TEST(CoalescingStream, FramesAndRawBytesKeepTheirOrderInOneFlush) {
  asio::io_context ioc;
  FakeNext next(ioc);
  auto log = next.log;
  CoalescingStream<FakeNext> stream(std::move(next));
  stream.write("HTTP/1.1 101\r\n\r\n");
  stream.write_frame(WsOpcode::kText, "hi");
  stream.write_frame(WsOpcode::kPong, "p");
  stream.write_frame(WsOpcode::kBinary, std::string(70000, 'l'));
  turn(ioc);
  EXPECT_EQ(stream.buffered(), 16 + 4 + 3 + 10 + 70000u) << "pending until written";
  // One flush; Asio hands it over in pieces of at most 64 KiB, so join them.
  std::string out;
  while (log->pending) {
    log->complete();
    turn(ioc);
  }
  for (const auto& w : log->writes) out += w;
  EXPECT_EQ(stream.buffered(), 0u);
  std::string expected = "HTTP/1.1 101\r\n\r\n";
  append_frame(expected, WsOpcode::kText, "hi");
  append_frame(expected, WsOpcode::kPong, "p");
  append_frame(expected, WsOpcode::kBinary, std::string(70000, 'l'));
  EXPECT_TRUE(out == expected);
}

}  // namespace
}  // namespace ws::net::detail
