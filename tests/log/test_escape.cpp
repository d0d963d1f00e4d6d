// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/log/escape.hpp: what reaches a log line is printable
// ASCII and decodes back to exactly what the client sent.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "aiolocals/log/escape.hpp"

namespace {

std::string escaped(std::string_view text) {
  std::string out = "[";
  aiolocals::append_escaped(out, text);
  return out + "]";
}

TEST(Escape, SafeTextIsAppendedAsIs) {
  EXPECT_EQ(escaped("/orders/7 GET abc-123"), "[/orders/7 GET abc-123]");
  EXPECT_EQ(escaped(""), "[]");
}

TEST(Escape, EveryByteOutsidePrintableAsciiAndTheBackslashBecomeHex) {
  const char hostile[] = "a\nINFO forged\r\x1b[31m\\\xc3\xa9\x7f\0z";
  EXPECT_EQ(escaped(std::string_view(hostile, sizeof hostile - 1)),
            "[a\\x0aINFO forged\\x0d\\x1b[31m\\x5c\\xc3\\xa9\\x7f\\x00z]");
}

TEST(Escape, EveryByteValueRoundTrips) {
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  const std::string out = escaped(all);
  std::string decoded;
  for (std::size_t i = 1; i + 1 < out.size(); ++i) {
    const auto byte = static_cast<unsigned char>(out[i]);
    ASSERT_TRUE(byte >= 0x20 && byte < 0x7f) << "raw byte " << int(byte);
    if (out[i] == '\\') {
      ASSERT_EQ(out[i + 1], 'x');
      decoded.push_back(static_cast<char>(std::stoi(out.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      decoded.push_back(out[i]);
    }
  }
  EXPECT_EQ(decoded, all);
}

}  // namespace
