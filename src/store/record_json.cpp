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

core::FormerRecord read_former(Reader& r, const json::value& v, const std::string& path) {
  const json::object& o = r.object(v, path);
  return {.id = {r.get<std::string>(o, "id", path)},
          .name = r.get<std::string>(o, "name", path),
          .left_ms = r.get<std::int64_t>(o, "left_ms", path)};
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

core::WorkspaceRecord read_workspace(Reader& r, const json::value& v, const std::string& path,
                                     const ReadContext& context) {
  const json::object& o = r.object(v, path);
  // Format 1 kept former members whole, with no time of leaving, and a list of revoked ids
  // (which were never members or former members as well, so format 2 needs no list: an id that
  // is neither is revoked).
  auto former = [&] {
    if (context.version >= 2) return read_list(r, o, "former", path, read_former);
    auto whole = read_list(r, o, "former", path, read_attendee);
    std::vector<core::FormerRecord> out;
    out.reserve(whole.size());
    for (auto& a : whole) out.push_back({std::move(a.id), std::move(a.name), context.v1_left_ms});
    return out;
  };
  return {.id = {r.get<std::string>(o, "id", path)},
          .name = r.get<std::string>(o, "name", path),
          .avatar = r.get<std::string>(o, "avatar", path),
          .owner = {r.get<std::string>(o, "owner", path)},
          .created_ms = r.get<std::int64_t>(o, "created_ms", path),
          .pin_hash = r.get<std::string>(o, "pin_hash", path),
          .invite = r.get<std::string>(o, "invite", path),
          .members = read_list(r, o, "members", path, read_attendee),
          .former = former(),
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

json::object to_json(const core::FormerRecord& former) {
  return {{"id", former.id.value}, {"name", former.name}, {"left_ms", former.left_ms}};
}

json::array to_json(const std::vector<core::FormerRecord>& formers) {
  json::array array;
  array.reserve(formers.size());
  for (const auto& former : formers) array.emplace_back(to_json(former));
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
          {"call", to_json(record.call)},
          {"idle_since_ms", std::move(idle_since)}};
}

core::Result<core::WorkspaceRecord> workspace_from_json(const json::value& json,
                                                        std::string_view where,
                                                        const ReadContext& context) {
  Reader reader;
  auto record = read_workspace(reader, json, std::string(where), context);
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
  struct Line {
    json::object operator()(const core::WorkspacePut& c) const {
      return {{"put", to_json(c.workspace)}};
    }
    json::object operator()(const core::WorkspaceDeleted& c) const { return {{"del", c.id.value}}; }
    json::object operator()(const core::MemberPut& c) const {
      return {{"member", {{"ws", c.workspace.value}, {"attendee", to_json(c.attendee)}}}};
    }
    json::object operator()(const core::MemberToggled& c) const {
      return {
          {"toggle",
           {{"ws", c.workspace.value}, {"id", c.attendee.value}, {"mic", c.mic}, {"cam", c.cam}}}};
    }
    json::object operator()(const core::MemberLeft& c) const {
      return {{"left", {{"ws", c.workspace.value}, {"former", to_json(c.former)}}}};
    }
    json::object operator()(const core::AttendeeForgotten& c) const {
      return {{"forget", {{"ws", c.workspace.value}, {"id", c.attendee.value}}}};
    }
    json::object operator()(const core::CallChanged& c) const {
      return {{"call", {{"ws", c.workspace.value}, {"call", to_json(c.call)}}}};
    }
    json::object operator()(const core::IdleChanged& c) const {
      json::value since = nullptr;
      if (c.idle_since_ms) since = *c.idle_since_ms;
      return {{"idle", {{"ws", c.workspace.value}, {"idle_since_ms", std::move(since)}}}};
    }
  };
  return json::serialize(std::visit(Line{}, change)) + "\n";
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

namespace {

constexpr std::string_view kKinds[] = {"put",  "del",    "member", "toggle",
                                       "left", "forget", "call",   "idle"};
constexpr std::string_view kExpected =
    "expected one of put, del, member, toggle, left, forget, call, idle";

/// The change of record kind `kind` (one of kKinds) with value `v`, or the Reader's error.
core::Change read_change(Reader& r, std::string_view kind, const json::value& v,
                         const ReadContext& context) {
  const std::string path(kind);
  if (kind == "put") return core::WorkspacePut{read_workspace(r, v, path, context)};
  if (kind == "del") return core::WorkspaceDeleted{{r.get<std::string>(v, path)}};
  const json::object& o = r.object(v, path);
  const core::WorkspaceId ws{r.get<std::string>(o, "ws", path)};
  if (kind == "member") {
    const json::value* a = r.field(o, "attendee", path);
    return core::MemberPut{ws,
                           a ? read_attendee(r, *a, path + ".attendee") : core::AttendeeRecord{}};
  }
  if (kind == "toggle") {
    return core::MemberToggled{ws,
                               {r.get<std::string>(o, "id", path)},
                               r.get<bool>(o, "mic", path),
                               r.get<bool>(o, "cam", path)};
  }
  if (kind == "left") {
    const json::value* f = r.field(o, "former", path);
    return core::MemberLeft{ws, f ? read_former(r, *f, path + ".former") : core::FormerRecord{}};
  }
  if (kind == "forget") return core::AttendeeForgotten{ws, {r.get<std::string>(o, "id", path)}};
  if (kind == "call") return core::CallChanged{ws, read_call(r, o, path)};
  return core::IdleChanged{ws, read_idle_since(r, o, path)};
}

}  // namespace

core::Result<core::Change> parse_change(std::string_view line, const ReadContext& context) {
  auto json = parse_json(line);
  if (!json) return tl::unexpected(json.error());
  const json::object* record = json->if_object();
  if (!record) return bad("a record must be a JSON object");
  std::optional<std::string_view> kind;
  for (std::string_view k : kKinds) {
    if (!record->contains(k)) continue;
    if (kind) return bad("a record holds both " + std::string(*kind) + " and " + std::string(k));
    kind = k;
  }
  if (!kind) {
    if (record->empty()) return bad("empty record (" + std::string(kExpected) + ")");
    // A key is structure, never a secret: naming it helps whoever reads the error.
    return bad("unknown record kind " + json::serialize(json::string(record->begin()->key())) +
               " (" + std::string(kExpected) + ")");
  }
  Reader reader;
  core::Change change = read_change(reader, *kind, record->at(*kind), context);
  if (!reader.ok()) return bad(reader.error());
  return change;
}

}  // namespace ws::store
