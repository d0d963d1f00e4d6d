// SPDX-License-Identifier: BSL-1.0
// append_json_escaped: every output parses back with Boost.JSON (strict) to
// the input, or to the input with each ill-formed UTF-8 sequence replaced.
#include "aiolocals/log/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "json_parse.hpp"

namespace {

using aiolocals::append_json_escaped;

std::string escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}

// What a strict JSON parser reads back from our escaping of `text`.
std::string round_trip(std::string_view text) {
  const std::string document = "\"" + escaped(text) + "\"";
  auto value = aiolocals::testing::parse_json(document);
  EXPECT_TRUE(value && value->is_string()) << document;
  if (!value || !value->is_string()) return "<not a JSON string>";
  return std::string(value->as_string());
}

const std::string replacement = "\xef\xbf\xbd";

TEST(JsonEscape, PrintableAsciiIsUnchanged) {
  EXPECT_EQ(escaped("GET /api/orders/42 ok"), "GET /api/orders/42 ok");
  EXPECT_EQ(escaped(""), "");
}

TEST(JsonEscape, QuotesBackslashesAndControlsAreEscaped) {
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1b\x1f\x7f", 5)), "\\u0000\\u0001\\u001b\\u001f\\u007f");
  // A forged second line stays inside the string.
  EXPECT_EQ(escaped("x\n{\"level\":\"info\"}"), "x\\n{\\\"level\\\":\\\"info\\\"}");
}

TEST(JsonEscape, WellFormedUtf8PassesThrough) {
  for (std::string text : {"caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80", "\xed\x9f\xbf",
                           "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd"}) {
    EXPECT_EQ(escaped(text), text);
    EXPECT_EQ(round_trip(text), text);
  }
}

TEST(JsonEscape, LineSeparatorsAreEscaped) {
  EXPECT_EQ(escaped("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "a\\u2028b\\u2029");
  EXPECT_EQ(round_trip("a\xe2\x80\xa8"), "a\xe2\x80\xa8");
}

TEST(JsonEscape, IllFormedUtf8BecomesOneReplacementPerMaximalSubpart) {
  struct case_t {
    std::string input, expected;
  };
  const case_t cases[] = {
      {"\x80", replacement},                                 // lone continuation
      {"a\xbf" "b", "a" + replacement + "b"},
      {"\xc0\xaf", replacement + replacement},               // overlong '/'
      {"\xc1\xbf", replacement + replacement},
      {"\xe0\x80\xaf", replacement + replacement + replacement},  // overlong
      {"\xed\xa0\x80", replacement + replacement + replacement},  // surrogate D800
      {"\xf4\x90\x80\x80", replacement + replacement + replacement + replacement},  // > U+10FFFF
      {"\xf5\x80", replacement + replacement},
      {"\xff", replacement},
      {"\xe2\x82", replacement},                             // truncated: one subpart
      {"\xe2\x82" "a", replacement + "a"},
      {"\xf0\x9f\x98", replacement},
      {"\xf0\x9f\x98\xc3\xa9", replacement + "\xc3\xa9"},
      {"\xc3", replacement},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(escaped(c.input), c.expected) << testing::PrintToString(c.input);
    EXPECT_EQ(round_trip(c.input), c.expected);
  }
}

TEST(JsonEscape, EveryByteAndPairRoundTripsOrIsReplaced) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 3) {
      const std::string text{static_cast<char>(a), static_cast<char>(b), 'z'};
      const std::string out = escaped(text);
      for (char c : out) {
        const auto byte = static_cast<unsigned char>(c);
        ASSERT_TRUE(byte >= 0x20 && byte != 0x7f) << a << " " << b;
      }
      ASSERT_LE(out.size(), 6 * text.size());
      const std::string back = round_trip(text);
      if (a < 0x80 && b < 0x80) {
        ASSERT_EQ(back, text);
      }
      ASSERT_EQ(back.back(), 'z');
    }
  }
}

}  // namespace
