// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/trace/trace_context.hpp against the forms the W3C
// Trace Context Level 1 Recommendation lists: versions, lengths, case,
// all-zero ids, trailing data, duplicate headers, tracestate keys and limits.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/trace/trace_context.hpp"

namespace {

constexpr std::string_view example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::optional<aiolocals::trace_parent> parse(std::string_view value) {
  return aiolocals::parse_traceparent(value);
}

TEST(Traceparent, TheSpecsExampleParsesAndRoundTrips) {
  const auto parent = parse(example);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->version, 0);
  EXPECT_EQ(parent->trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parent->parent.to_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(parent->sampled());
  EXPECT_EQ(aiolocals::format_traceparent(parent->trace, parent->parent, parent->flags), example);
  const auto unsampled = parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled());
}

TEST(Traceparent, InvalidFormsAreRejected) {
  for (std::string_view bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // v00 + trailing
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // v00 too long
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
           "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // bad version
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // bad separator
           "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
       }) {
    EXPECT_FALSE(parse(bad)) << bad;
  }
}

TEST(Traceparent, HigherVersionsParseByTheForwardCompatibilityRule) {
  const auto future = parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  ASSERT_TRUE(future);
  EXPECT_EQ(future->version, 0xcc);
  EXPECT_EQ(future->trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"));
  EXPECT_FALSE(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));  // no '-'
  EXPECT_FALSE(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));      // short
}

TEST(Traceparent, ExactlyOneHeaderValueIsAccepted) {
  const std::vector<std::string_view> one{example}, two{example, example}, none;
  EXPECT_TRUE(aiolocals::parse_traceparent(one));
  EXPECT_FALSE(aiolocals::parse_traceparent(two));  // duplicates restart the trace
  EXPECT_FALSE(aiolocals::parse_traceparent(none));
}

TEST(TraceIds, GeneratedIdsAreValidUniqueAndFormatAsLowercaseHex) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 1000; ++i) {
    const auto trace = aiolocals::generate_trace_id();
    const auto span = aiolocals::generate_span_id();
    ASSERT_TRUE(trace.is_valid() && span.is_valid());
    const std::string formatted = aiolocals::format_traceparent(trace, span, 1);
    const auto back = parse(formatted);
    ASSERT_TRUE(back) << formatted;
    EXPECT_EQ(back->trace, trace);
    EXPECT_EQ(back->parent, span);
    traces.insert(trace.to_hex());
    spans.insert(span.to_hex());
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

std::optional<std::string> tracestate(std::vector<std::string_view> values) {
  return aiolocals::validate_tracestate(values);
}

TEST(Tracestate, ValidListsPassOnInOrderWithoutOptionalWhitespace) {
  EXPECT_EQ(tracestate({"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(tracestate({"rojo=1 , \tcongo=2", "", "fw529a3039@dt=x"}),
            "rojo=1,congo=2,fw529a3039@dt=x");
  EXPECT_EQ(tracestate({"a=1,,b=2"}), "a=1,b=2");  // empty members skipped
  EXPECT_EQ(tracestate({}), "");
  EXPECT_EQ(tracestate({"k=value with spaces"}), "k=value with spaces");
}

TEST(Tracestate, InvalidListsAreDropped) {
  for (std::string_view bad : {
           "Rojo=1",         // uppercase key
           "1abc=1",         // simple key must start with a letter
           "rojo",           // no '='
           "rojo=",          // empty value
           "rojo=a,rojo=b",  // duplicate key
           "rojo=a=b",       // '=' in value
           "rojo=\x7f",      // outside the value alphabet
           "tenant@=1",      // empty system id
           "@system=1",      // empty tenant id
           "tenant@Sys=1",   // uppercase system id
           "tenant@systemidtoolong=1",
       }) {
    EXPECT_FALSE(tracestate({bad})) << bad;
  }
  std::string key_too_long(257, 'a');
  EXPECT_FALSE(tracestate({key_too_long + "=1"}));
  EXPECT_TRUE(tracestate({std::string(256, 'a') + "=1"}));
}

TEST(Tracestate, AtMost32MembersAnd512Characters) {
  std::string members;
  for (int i = 0; i < 32; ++i) members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  EXPECT_TRUE(tracestate({members}));
  EXPECT_FALSE(tracestate({members + ",k32=v"}));
  EXPECT_FALSE(tracestate({"a=" + std::string(256, 'x'), "b=" + std::string(256, 'y')}));
}

}  // namespace
