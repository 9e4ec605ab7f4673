// libFuzzer target for the JSON-lines store file (store/json_file_store.hpp, PROTOCOL.md §8):
// each input is a whole file for the loader's replay and, line by line, records for
// store/record_json. The store must read back whatever it writes, and its error messages must
// never quote a value (PIN hashes, invite tokens).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

#include "store/json_file_store.hpp"
#include "store/record_json.hpp"

namespace {

namespace json = boost::json;
using namespace ws;
using namespace ws::store;

void require(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

bool same(const core::Change& a, const core::Change& b) {
  return a == b;
}

// ---- error messages never quote a value ----

/// Collects the keys and the string values of a JSON document.
void collect(const json::value& value, std::vector<std::string_view>& keys,
             std::vector<std::string_view>& strings) {
  if (const json::object* object = value.if_object()) {
    for (const auto& member : *object) {
      keys.push_back(member.key());
      collect(member.value(), keys, strings);
    }
  } else if (const json::array* array = value.if_array()) {
    for (const json::value& item : *array) collect(item, keys, strings);
  } else if (const json::string* string = value.if_string()) {
    strings.push_back(*string);
  }
}

/// A string value holding a '$' (as every Argon2id PIN hash does) must not show up in the
/// error about its line. '$' appears in no fixed message and no field path; a value that is
/// also part of a key is left out, since unknown record kinds are named.
void require_no_value_quoted(std::string_view line, const std::string& message) {
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  const json::value document = json::parse(line, ec, {}, options);
  if (ec) return;
  std::vector<std::string_view> keys, strings;
  collect(document, keys, strings);
  for (std::string_view value : strings) {
    if (value.size() < 2 || value.find('$') == std::string_view::npos) continue;
    bool in_key = false;
    for (std::string_view key : keys) in_key = in_key || key.find(value) != std::string_view::npos;
    if (!in_key) require(message.find(value) == std::string::npos);
  }
}

// ---- one line ----

void check_line(std::string_view line) {
  const auto header = parse_header(line);
  if (header) require(*header >= 1);

  const auto change = parse_change(line);
  if (!change) {
    require(change.error().code == core::ErrorCode::kInternal);
    require_no_value_quoted(line, change.error().message);
    return;
  }
  // Written back, a record reads as the same change, and writing that again gives the same
  // line: what the store writes, it can read.
  const std::string written = change_line(*change);
  require(written.ends_with('\n'));
  const std::string_view text = std::string_view(written).substr(0, written.size() - 1);
  require(text.find('\n') == std::string_view::npos);
  const auto again = parse_change(text);
  require(again && same(*again, *change));
  require(change_line(*again) == written);
}

// ---- the whole file ----

void check_file(std::string_view text) {
  const auto lines = lines_of(text);
  const auto replayed = detail::replay(text);
  if (!replayed) {
    // Only a header of a newer format version is refused outright.
    const auto version = parse_header(lines.at(0));
    require(version && *version > kFormatVersion);
    return;
  }
  require(!(replayed->corrupt && replayed->torn));
  require(replayed->records + 1 <= lines.size() || (lines.empty() && replayed->records == 0));
  require(replayed->workspaces.size() <= replayed->records);
  if (replayed->corrupt) {
    // The first bad line: the header (nothing replayed) or a record before the last line.
    require(replayed->corrupt->number >= 1 && replayed->corrupt->number < lines.size() + 1);
    require(replayed->corrupt->number == replayed->records + 2 ||
            (replayed->corrupt->number == 1 && replayed->records == 0));
  }
  if (replayed->torn) {
    // Only the last line can be torn, and everything before it was replayed.
    require(replayed->torn->number == lines.size() && replayed->records + 2 == lines.size());
    require(replayed->torn_bytes == lines.back().size() + (text.ends_with('\n') ? 1 : 0));
  }
  if (!replayed->corrupt && !replayed->torn) {
    require(replayed->records + 1 == lines.size() || lines.empty());
  }

  // The snapshot load() writes next reads back as the same workspaces, with nothing dropped.
  std::string snapshot = header_line(0);
  for (const auto& [id, record] : replayed->workspaces) {
    require(id == record.id);
    snapshot += put_line(record);
  }
  const auto reread = detail::replay(snapshot);
  require(reread && !reread->corrupt && !reread->torn);
  require(reread->records == replayed->workspaces.size());
  require(reread->workspaces == replayed->workspaces);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  check_file(text);
  for (std::string_view line : lines_of(text)) check_line(line);
  return 0;
}
