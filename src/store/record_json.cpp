// The lines of the JSON-lines store file (header, put, del) <-> typed records.
#include "store/record_json.hpp"

#include <optional>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/string.hpp>

namespace ws::store {
namespace {

namespace json = boost::json;

tl::unexpected<core::Error> bad(std::string message) {
  return core::fail(core::ErrorCode::kInternal, std::move(message));
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// ---- reading ----

/// How a field of type T is checked and read.
template <class T>
struct Kind;
template <>
struct Kind<std::string> {
  static constexpr std::string_view kName = "a string";
  static bool is(const json::value& v) { return v.is_string(); }
  static std::string get(const json::value& v) { return std::string(v.get_string()); }
};
template <>
struct Kind<std::int64_t> {
  static constexpr std::string_view kName = "an integer";
  static bool is(const json::value& v) { return v.is_int64(); }
  static std::int64_t get(const json::value& v) { return v.get_int64(); }
};
template <>
struct Kind<bool> {
  static constexpr std::string_view kName = "a boolean";
  static bool is(const json::value& v) { return v.is_bool(); }
  static bool get(const json::value& v) { return v.get_bool(); }
};

/// Reads typed fields and keeps the first error with its path, so the record readers below
/// stay flat: after an error, every getter returns an empty value and the result is dropped.
class Reader {
 public:
  bool ok() const { return !error_; }
  const std::string& error() const { return *error_; }

  /// The field `key` of `o`, or nullptr (and an error) when it is missing.
  const json::value* field(const json::object& o, std::string_view key, const std::string& path) {
    const json::value* v = o.if_contains(key);
    if (!v) fail(join(path, key), "missing");
    return v;
  }

  template <class T>
  T get(const json::value& v, const std::string& path) {
    if (Kind<T>::is(v)) return Kind<T>::get(v);
    fail(path, "expected " + std::string(Kind<T>::kName));
    return T{};
  }

  template <class T>
  T get(const json::object& o, std::string_view key, const std::string& path) {
    const json::value* v = field(o, key, path);
    if (!v) return T{};
    if (Kind<T>::is(*v)) return Kind<T>::get(*v);
    return get<T>(*v, join(path, key));  // builds the path only on this error path
  }

  const json::object& object(const json::value& v, const std::string& path) {
    static const json::object kEmpty;
    if (v.is_object()) return v.get_object();
    fail(path, "expected an object");
    return kEmpty;
  }

  const json::array& array(const json::object& o, std::string_view key, const std::string& path) {
    static const json::array kEmpty;
    const json::value* v = field(o, key, path);
    if (v && v->is_array()) return v->get_array();
    if (v) fail(join(path, key), "expected an array");
    return kEmpty;
  }

 private:
  void fail(const std::string& path, std::string_view what) {
    if (!error_) error_ = (path.empty() ? std::string("record") : path) + ": " + std::string(what);
  }

  std::optional<std::string> error_;
};

template <class ReadItem>
auto read_list(Reader& r, const json::object& o, std::string_view key, const std::string& path,
               ReadItem read_item) {
  const json::array& array = r.array(o, key, path);
  const std::string list_path = join(path, key);
  std::vector<decltype(read_item(r, json::value(), std::string()))> items;
  items.reserve(array.size());
  for (std::size_t i = 0; i < array.size() && r.ok(); ++i) {
    items.push_back(read_item(r, array[i], list_path + "[" + std::to_string(i) + "]"));
  }
  return items;
}

core::AttendeeId read_attendee_id(Reader& r, const json::value& v, const std::string& path) {
  return {r.get<std::string>(v, path)};
}

core::AttendeeRecord read_attendee(Reader& r, const json::value& v, const std::string& path) {
  const json::object& o = r.object(v, path);
  return {.id = {r.get<std::string>(o, "id", path)},
          .name = r.get<std::string>(o, "name", path),
          .avatar = r.get<std::string>(o, "avatar", path),
          .mic = r.get<bool>(o, "mic", path),
          .cam = r.get<bool>(o, "cam", path)};
}

std::optional<core::CallRecord> read_call(Reader& r, const json::object& o,
                                          const std::string& path) {
  const json::value* v = r.field(o, "call", path);
  if (!v || v->is_null()) return std::nullopt;
  const std::string call_path = join(path, "call");
  const json::object& call = r.object(*v, call_path);
  return core::CallRecord{
      .id = {r.get<std::string>(call, "id", call_path)},
      .started_ms = r.get<std::int64_t>(call, "started_ms", call_path),
      .participants = read_list(r, call, "participants", call_path, read_attendee_id)};
}

std::optional<std::int64_t> read_idle_since(Reader& r, const json::object& o,
                                            const std::string& path) {
  const json::value* v = r.field(o, "idle_since_ms", path);
  if (!v || v->is_null()) return std::nullopt;
  return r.get<std::int64_t>(*v, join(path, "idle_since_ms"));
}

core::WorkspaceRecord read_workspace(Reader& r, const json::value& v, const std::string& path) {
  const json::object& o = r.object(v, path);
  return {.id = {r.get<std::string>(o, "id", path)},
          .name = r.get<std::string>(o, "name", path),
          .avatar = r.get<std::string>(o, "avatar", path),
          .owner = {r.get<std::string>(o, "owner", path)},
          .created_ms = r.get<std::int64_t>(o, "created_ms", path),
          .pin_hash = r.get<std::string>(o, "pin_hash", path),
          .invite = r.get<std::string>(o, "invite", path),
          .members = read_list(r, o, "members", path, read_attendee),
          .former = read_list(r, o, "former", path, read_attendee),
          .revoked = read_list(r, o, "revoked", path, read_attendee_id),
          .call = read_call(r, o, path),
          .idle_since_ms = read_idle_since(r, o, path)};
}

/// One line as JSON. Raw NUL bytes are named apart: they are what a crash can leave in a file.
core::Result<json::value> parse_json(std::string_view line) {
  if (auto nul = line.find('\0'); nul != std::string_view::npos) {
    return bad("NUL byte at column " + std::to_string(nul + 1));
  }
  json::parse_options options;
  // Strings are written byte for byte; accepting what was written keeps the promise that the
  // store never writes a line it cannot read back (the Engine validates UTF-8 before that).
  options.allow_invalid_utf8 = true;
  json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t used = parser.write(line.data(), line.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return bad("invalid JSON at column " + std::to_string(used + 1) + " (" + ec.message() + ")");
  }
  return parser.release();
}

// ---- writing ----

json::object to_json(const core::AttendeeRecord& attendee) {
  return {{"id", attendee.id.value},
          {"name", attendee.name},
          {"avatar", attendee.avatar},
          {"mic", attendee.mic},
          {"cam", attendee.cam}};
}

json::array to_json(const std::vector<core::AttendeeRecord>& attendees) {
  json::array array;
  array.reserve(attendees.size());
  for (const auto& attendee : attendees) array.emplace_back(to_json(attendee));
  return array;
}

json::array to_json(const std::vector<core::AttendeeId>& ids) {
  json::array array;
  array.reserve(ids.size());
  for (const auto& id : ids) array.emplace_back(id.value);
  return array;
}

json::value to_json(const std::optional<core::CallRecord>& call) {
  if (!call) return nullptr;
  return json::object{{"id", call->id.value},
                      {"started_ms", call->started_ms},
                      {"participants", to_json(call->participants)}};
}

}  // namespace

json::object to_json(const core::WorkspaceRecord& record) {
  json::value idle_since = nullptr;
  if (record.idle_since_ms) idle_since = *record.idle_since_ms;
  return {{"id", record.id.value},
          {"name", record.name},
          {"avatar", record.avatar},
          {"owner", record.owner.value},
          {"created_ms", record.created_ms},
          {"pin_hash", record.pin_hash},
          {"invite", record.invite},
          {"members", to_json(record.members)},
          {"former", to_json(record.former)},
          {"revoked", to_json(record.revoked)},
          {"call", to_json(record.call)},
          {"idle_since_ms", std::move(idle_since)}};
}

core::Result<core::WorkspaceRecord> workspace_from_json(const json::value& json,
                                                        std::string_view where) {
  Reader reader;
  auto record = read_workspace(reader, json, std::string(where));
  if (!reader.ok()) return bad(reader.error());
  return record;
}

std::string header_line(std::int64_t written_ms) {
  json::object header{
      {"format", kFormatName}, {"version", kFormatVersion}, {"written_ms", written_ms}};
  return json::serialize(header) + "\n";
}

std::string put_line(const core::WorkspaceRecord& record) {
  return json::serialize(json::object{{"put", to_json(record)}}) + "\n";
}

std::string change_line(const core::Change& change) {
  if (const auto* put = std::get_if<core::WorkspacePut>(&change)) return put_line(put->workspace);
  const auto& del = std::get<core::WorkspaceDeleted>(change);
  return json::serialize(json::object{{"del", del.id.value}}) + "\n";
}

core::Result<std::int64_t> parse_header(std::string_view line) {
  auto json = parse_json(line);
  if (!json) return tl::unexpected(json.error());
  const json::object* header = json->if_object();
  const json::value* format = header ? header->if_contains("format") : nullptr;
  if (!format || !format->is_string() || format->get_string() != kFormatName) {
    return bad("not a store header (the first line must be {\"format\":\"" +
               std::string(kFormatName) + "\",\"version\":N})");
  }
  const json::value* version = header->if_contains("version");
  if (!version || !version->is_int64() || version->get_int64() < 1) {
    return bad("header.version: expected an integer >= 1");
  }
  return version->get_int64();
}

core::Result<core::Change> parse_change(std::string_view line) {
  auto json = parse_json(line);
  if (!json) return tl::unexpected(json.error());
  const json::object* record = json->if_object();
  if (!record) return bad("a record must be a JSON object");
  const json::value* put = record->if_contains("put");
  const json::value* del = record->if_contains("del");
  if (put && del) return bad("a record holds both put and del");
  if (put) {
    auto workspace = workspace_from_json(*put, "put");
    if (!workspace) return tl::unexpected(workspace.error());
    return core::WorkspacePut{std::move(*workspace)};
  }
  if (del) {
    if (!del->is_string()) return bad("del: expected a string");
    return core::WorkspaceDeleted{{std::string(del->get_string())}};
  }
  if (record->empty()) return bad("empty record (expected put or del)");
  // A key is structure, never a secret: naming it helps whoever reads the error.
  return bad("unknown record kind " + json::serialize(json::string(record->begin()->key())) +
             " (expected put or del)");
}

}  // namespace ws::store
