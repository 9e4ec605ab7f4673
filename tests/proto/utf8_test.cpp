// Tests for the UTF-8 checks: RFC 3629 well-formedness, code point counts, controls, prefixes.
#include "proto/utf8.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace ws::proto {
namespace {

using namespace std::string_view_literals;

TEST(Utf8, CountsCodePointsOfWellFormedText) {
  struct Case {
    std::string_view name;
    std::string_view input;
    std::optional<std::size_t> want;
  };
  const Case cases[] = {
      {"empty", "", 0},
      {"ascii", "abc", 3},
      {"nul is a code point", "a\0b"sv, 3},
      {"two-byte e acute", "\xC3\xA9", 1},
      {"three-byte euro", "\xE2\x82\xAC", 1},
      {"four-byte emoji", "\xF0\x9F\x98\x80", 1},
      {"last before surrogates U+D7FF", "\xED\x9F\xBF", 1},
      {"first after surrogates U+E000", "\xEE\x80\x80", 1},
      {"highest U+10FFFF", "\xF4\x8F\xBF\xBF", 1},
      {"mixed", "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 4},
      {"truncated two-byte", "\xC3", std::nullopt},
      {"truncated three-byte", "\xE2\x82", std::nullopt},
      {"truncated four-byte", "\xF0\x9F\x98", std::nullopt},
      {"truncated at the end", "abc\xC3", std::nullopt},
      {"stray continuation", "\x80", std::nullopt},
      {"bad continuation", "\xC3\x28", std::nullopt},
      {"bad third byte", "\xE2\x82\x28", std::nullopt},
      {"overlong slash C0", "\xC0\xAF", std::nullopt},
      {"overlong C1", "\xC1\xBF", std::nullopt},
      {"overlong three-byte", "\xE0\x80\xAF", std::nullopt},
      {"overlong four-byte", "\xF0\x80\x80\xAF", std::nullopt},
      {"surrogate U+D800", "\xED\xA0\x80", std::nullopt},
      {"surrogate U+DFFF", "\xED\xBF\xBF", std::nullopt},
      {"above U+10FFFF", "\xF4\x90\x80\x80", std::nullopt},
      {"lead F5", "\xF5\x80\x80\x80", std::nullopt},
      {"byte FF", "\xFF", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(code_points(c.input), c.want);
  }
}

TEST(Utf8, FindsControlCharacters) {
  struct Case {
    std::string_view name;
    std::string_view input;
    bool want;
  };
  const Case cases[] = {
      {"plain", "Alice", false},
      {"space and punctuation", "A b-c.d!", false},
      {"accented", "\xC3\xA9l\xC3\xA8ve", false},
      {"no-break space U+00A0", "\xC2\xA0", false},
      {"emoji", "\xF0\x9F\x98\x80", false},
      {"nul", "a\0b"sv, true},
      {"tab", "a\tb", true},
      {"newline", "a\n", true},
      {"unit separator U+001F", "\x1F", true},
      {"delete U+007F", "\x7F", true},
      {"C1 next line U+0085", "\xC2\x85", true},
      {"C1 U+009F", "\xC2\x9F", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(has_control(c.input), c.want);
  }
}

TEST(HasBidiControl, FindsEmbeddingsOverridesAndIsolatesOnly) {
  struct Case {
    const char* name;
    std::string_view input;
    bool want;
  };
  const Case cases[] = {
      {"plain", "Alice", false},
      {"hebrew", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", false},
      {"arabic letter mark U+061C", "\xD8\x9C", false},
      {"left-to-right mark U+200E", "\xE2\x80\x8E", false},
      {"right-to-left mark U+200F", "\xE2\x80\x8F", false},
      {"en dash U+2013", "\xE2\x80\x93", false},
      {"U+2029 paragraph separator", "\xE2\x80\xA9", false},
      {"U+202F narrow no-break space", "\xE2\x80\xAF", false},
      {"U+2065 (unassigned, before the isolates)", "\xE2\x81\xA5", false},
      {"U+206A", "\xE2\x81\xAA", false},
      {"LRE U+202A", "a\xE2\x80\xAA", true},
      {"RLE U+202B", "\xE2\x80\xAB", true},
      {"PDF U+202C", "\xE2\x80\xAC", true},
      {"LRO U+202D", "\xE2\x80\xAD", true},
      {"RLO U+202E", "evil\xE2\x80\xAEgnp.exe", true},
      {"LRI U+2066", "\xE2\x81\xA6x", true},
      {"RLI U+2067", "\xE2\x81\xA7", true},
      {"FSI U+2068", "\xE2\x81\xA8", true},
      {"PDI U+2069", "x\xE2\x81\xA9", true},
      {"cut at the end", "\xE2\x80", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(has_bidi_control(c.input), c.want);
  }
}

TEST(Utf8, TruncatesOnCodePointBoundaries) {
  struct Case {
    std::string_view name;
    std::string_view input;
    std::size_t max;
    std::string_view want;
  };
  const Case cases[] = {
      {"shorter than max", "abc", 5, "abc"},
      {"exactly max", "abc", 3, "abc"},
      {"cut ascii", "abc", 2, "ab"},
      {"zero", "abc", 0, ""},
      {"empty", "", 3, ""},
      {"keeps whole two-byte", "\xC3\xA9\xC3\xA9", 1, "\xC3\xA9"},
      {"keeps whole four-byte",
       "\xF0\x9F\x98\x80"
       "a",
       1, "\xF0\x9F\x98\x80"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(truncate(c.input, c.max), c.want);
  }
}

}  // namespace
}  // namespace ws::proto
