// The lines of the JSON-lines store file (header and records) <-> typed records; the format is
// described in store/json_file_store.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "core/state.hpp"

namespace ws::store {

// All pure and thread-safe. Error messages name the offending field with a dotted path
// ("put.members[1].mic: expected a boolean") and never quote a value: values include PIN
// hashes and invite tokens.

inline constexpr std::string_view kFormatName = "workspaces-store";
inline constexpr std::int64_t kFormatVersion = 2;

/// What reading a line needs to know of its file: the header's version, and for format 1 (no
/// time of leaving) the time given to its former members (the load, so their tokens get a
/// whole lifetime before they are forgotten).
struct ReadContext {
  std::int64_t version = kFormatVersion;
  std::int64_t v1_left_ms = 0;
};

/// The JSON object of a record, keys in the documented order.
boost::json::object to_json(const core::WorkspaceRecord& record);

/// Reads a record; every field is required with its JSON type, unknown keys are ignored.
/// `where` prefixes the field paths of error messages.
core::Result<core::WorkspaceRecord> workspace_from_json(const boost::json::value& json,
                                                        std::string_view where = {},
                                                        const ReadContext& context = {});

/// The header line, "\n" included.
std::string header_line(std::int64_t written_ms);

/// The line {"put":{...}} of a record, "\n" included.
std::string put_line(const core::WorkspaceRecord& record);

/// The line of one change ({"put":{...}}, {"del":"id"}, {"member":{...}}, ...), "\n" included.
std::string change_line(const core::Change& change);

/// The version of a header line (without its "\n"): an error if it is not a header of this
/// format or its version is below 1. A version above kFormatVersion is returned, not refused:
/// the caller decides.
core::Result<std::int64_t> parse_header(std::string_view line);

/// The change of a record line (without its "\n").
core::Result<core::Change> parse_change(std::string_view line, const ReadContext& context = {});

}  // namespace ws::store
