// Parser for `.env` files and the boolean and port spellings of environment values.
#include "config/env_file.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace ws::config {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_key_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// What may follow a closing quote: nothing, whitespace, or whitespace and a comment.
bool is_quote_tail(std::string_view rest) {
  if (rest.empty()) return true;
  if (!is_blank(rest.front())) return false;
  rest = trim_left(rest);
  return rest.empty() || rest.front() == '#';
}

/// Value of one line after the `=`, without its leading whitespace. The error is a
/// description without the line number (the caller adds it).
tl::expected<std::string, std::string> parse_value(std::string_view raw) {
  std::string_view text = trim_left(raw);
  if (text.empty()) return std::string();

  if (text.front() == '\'') {
    auto close = text.find('\'', 1);
    if (close == std::string_view::npos)
      return tl::unexpected<std::string>("unterminated single quote");
    if (!is_quote_tail(text.substr(close + 1))) {
      return tl::unexpected<std::string>("unexpected text after the closing quote");
    }
    return std::string(text.substr(1, close - 1));
  }

  if (text.front() == '"') {
    std::string value;
    for (std::size_t i = 1; i < text.size(); ++i) {
      char c = text[i];
      if (c == '"') {
        if (!is_quote_tail(text.substr(i + 1))) {
          return tl::unexpected<std::string>("unexpected text after the closing quote");
        }
        return value;
      }
      if (c == '\\' && i + 1 < text.size()) {
        char next = text[i + 1];
        if (next == 'n' || next == '"' || next == '\\') {
          value += next == 'n' ? '\n' : next;
          ++i;
          continue;
        }
      }
      value += c;  // other backslashes stay literal, as in a shell's double quotes
    }
    return tl::unexpected<std::string>("unterminated double quote");
  }

  // Unquoted: a '#' starts a comment only after whitespace, so `a#b` keeps its '#'.
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_blank(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  return std::string(trim_right(trim_left(raw)));
}

}  // namespace

core::Result<std::map<std::string, std::string>> parse_env_file(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    auto bad = [&](std::string_view why) {
      return core::fail(core::ErrorCode::kBadRequest,
                        "line " + std::to_string(line_no) + ": " + std::string(why));
    };

    line = trim_left(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export") && line.size() > 6 && is_blank(line[6])) {
      line = trim_left(line.substr(6));
    }

    // Also "export " with nothing after it, which is empty by now.
    if (line.empty() || !is_key_start(line.front())) return bad("expected KEY=value");
    std::size_t key_end = 1;
    while (key_end < line.size() && is_key_char(line[key_end])) ++key_end;
    std::string key(line.substr(0, key_end));
    std::string_view rest = trim_left(line.substr(key_end));
    if (rest.empty() || rest.front() != '=') return bad("expected '=' after the key");

    auto value = parse_value(rest.substr(1));
    if (!value) return bad(value.error());
    out[std::move(key)] = std::move(*value);
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace ws::config
