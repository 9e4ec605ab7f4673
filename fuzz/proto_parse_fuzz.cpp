// libFuzzer target for proto::parse and proto::parse_socketio: any bytes in, no crash, and the
// Request's invariants hold.
// Build: clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//   fuzz/proto_parse_fuzz.cpp src/proto/*.cpp src/core/error.cpp src/core/views.cpp -lboost_json -o
//   proto_parse_fuzz
// Run:   ./proto_parse_fuzz -dict=fuzz/proto_parse.dict -max_len=4096 fuzz/corpus/proto_parse
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/parse.hpp>

#include "core/views.hpp"
#include "proto/parse.hpp"
#include "proto/serialize.hpp"
#include "proto/utf8.hpp"

namespace {

namespace json = boost::json;
using namespace ws;

void require(bool condition) {
  if (!condition) std::abort();
}

/// Whatever the server sends back must be valid JSON.
void require_json(const std::string& text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  require(!ec);
}

/// The value a request relays to another member untouched, if any.
const json::value* opaque(const core::RingReq& r) {
  return &r.offer;
}
const json::value* opaque(const core::AnswerReq& r) {
  return &r.answer;
}
const json::value* opaque(const core::IceCandidateReq& r) {
  return &r.candidate;
}
const json::value* opaque(const core::NegotiationReq& r) {
  return &r.message;
}
const json::value* opaque(const auto&) {
  return nullptr;
}

}  // namespace

/// The invariants every decoded Request holds, whichever framing it came from.
static void check(const core::Request& req) {
  require(req.event.has_value() == !req.frame_error.has_value());
  require(proto::code_points(req.event_name).value_or(0) <= proto::kMaxEventNameChars);
  require(!(req.access_token && req.access_token_invalid_type));
  require(!(req.invite_token && req.invite_token_invalid_type));
  require(req.id.is_null() || req.id.is_int64() || req.id.is_string());
  require(req.nonce.is_null() || req.nonce.is_int64() || req.nonce.is_string());

  const core::Error error = req.frame_error ? *req.frame_error
                            : req.payload   ? core::Error{core::ErrorCode::kForbidden, "x", "", 0}
                                            : req.payload.error();
  require_json(proto::serialize(core::views::alert(error, req.event_name, req.nonce, req.id)));
  if (req.payload) {
    const json::value* relayed = std::visit([](const auto& p) { return opaque(p); }, *req.payload);
    if (relayed) {
      require(!relayed->is_null());
      require_json(proto::serialize({core::ServerEvent::kNegotiation, *relayed, nullptr}));
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  check(proto::parse(text));
  // The same bytes as a Socket.IO event packet (PROTOCOL.md §7) share the validation path.
  check(proto::parse_socketio(text));
  return 0;
}
