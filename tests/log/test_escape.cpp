// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/log/escape.hpp: what reaches a log line is printable
// ASCII and decodes back to exactly what the client sent.
#include <gtest/gtest.h>

#include <random>
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

// The fast check reads 16, 8 or 4 bytes at a time with an overlapping last
// block: every byte value at every position of every length up to 70 (all
// of its paths and block edges) must be found, and nothing else. Both the
// check escaping uses and its portable path (the only one on a machine
// without SSE2) are held to it.
template <char... Also>
bool check(std::string_view text, bool portable) {
  return portable ? aiolocals::detail::needs_escaping_by_words<Also...>(text)
                  : aiolocals::detail::needs_escaping<Also...>(text);
}

template <char... Also>
void expect_exact_check(std::string_view label, bool portable) {
  const auto needs = [](unsigned char byte) {
    return byte < 0x20 || byte >= 0x7f || ((byte == static_cast<unsigned char>(Also)) || ...);
  };
  for (std::size_t size = 1; size <= 70; ++size) {
    for (std::size_t at = 0; at < size; ++at) {
      // Neighbours 0x20 and 0x7e sit right at the edges of the range.
      std::string text(size, at % 2 == 0 ? '~' : ' ');
      for (int byte = 0; byte < 256; ++byte) {
        text[at] = static_cast<char>(byte);
        ASSERT_EQ(check<Also...>(text, portable), needs(static_cast<unsigned char>(byte)))
            << label << ": byte " << byte << " at " << at << " of " << size;
      }
    }
  }
  EXPECT_FALSE(check<Also...>("", portable));
  // Random texts over boundary bytes, several unsafe ones at once (a borrow
  // between bytes must never hide one, nor invent one).
  std::mt19937 random(7);
  const unsigned char alphabet[] = {0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5c, 0x5d, 0x22,
                                    0x7e, 0x7f, 0x80, 0xff, 0x41, 0x01, 0x3f, 0xa0};
  for (int round = 0; round < 200'000; ++round) {
    std::string text(random() % 40, 'a');
    bool expected = false;
    for (char& c : text) {
      const unsigned char byte = random() % 4 == 0
                                     ? alphabet[random() % sizeof alphabet]
                                     : static_cast<unsigned char>(0x20 + random() % 0x5f);
      c = static_cast<char>(byte);
      expected = expected || needs(byte);
    }
    ASSERT_EQ(check<Also...>(text, portable), expected) << label;
  }
}

TEST(Escape, TheFastCheckFindsExactlyTheBytesToEscape) {
  for (const bool portable : {false, true}) {
    expect_exact_check<'\\'>("log line", portable);
    expect_exact_check<'"', '\\'>("JSON string", portable);
  }
}

}  // namespace
