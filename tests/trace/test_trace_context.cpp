// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/trace/trace_context.hpp against the forms the W3C
// Trace Context texts list (Level 1 Recommendation for traceparent, Level 2
// Candidate Recommendation for flags and tracestate): versions, lengths,
// case, all-zero ids, trailing data, duplicate headers, flags bit by bit,
// tracestate keys, duplicates and limits.
#include <gtest/gtest.h>


#include <set>
#include <thread>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aiolocals/trace/trace_context.hpp"
#include "forked_child.hpp"

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

// Span ids come from a per-thread sequence (unique, not secret): threads
// must not share one, and a forked child must not replay its parent's.
TEST(TraceIds, SpanIdsDifferAcrossThreadsAndAcrossFork) {
  constexpr int threads = 8, per_thread = 2000;
  std::vector<std::vector<std::string>> made(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&made, t] {
      for (int i = 0; i < per_thread; ++i) made[t].push_back(aiolocals::generate_span_id().to_hex());
    });
  }
  for (auto& worker : workers) worker.join();
  std::set<std::string> all;
  for (const auto& ids : made) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));

  (void)aiolocals::generate_span_id();  // this thread's sequence is seeded
  const std::string in_child =
      test_support::in_forked_child([] { return aiolocals::generate_span_id().to_hex(); });
  ASSERT_EQ(in_child.size(), 16u);
  EXPECT_NE(in_child, aiolocals::generate_span_id().to_hex());
}

std::string tracestate(std::vector<std::string_view> values) {
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

// Level 2: "key = ( lcalpha / DIGIT ) 0*255 ( keychar )", keychar = lcalpha
// / DIGIT / "_" / "-"/ "*" / "/" / "@". Keys Level 1 refused are valid now.
TEST(Tracestate, Level2KeysWithAtSignsAndLongTenantsAreKept) {
  EXPECT_EQ(tracestate({"foo@=1,bar=2"}), "foo@=1,bar=2");
  EXPECT_EQ(tracestate({"1abc=1"}), "1abc=1");
  EXPECT_EQ(tracestate({"foo@bar@baz=1"}), "foo@bar@baz=1");
  const std::string tenant = std::string(242, 't') + "@v=1";      // Level 1: tenant > 241
  const std::string system = "t@" + std::string(15, 'v') + "=1";  // Level 1: system > 14
  EXPECT_EQ(tracestate({tenant}), tenant);
  EXPECT_EQ(tracestate({system}), system);
  EXPECT_EQ(tracestate({std::string(256, 'a') + "=1"}), std::string(256, 'a') + "=1");
}

// An invalid member is dropped alone; the others pass on in order.
TEST(Tracestate, InvalidMembersAreDroppedAndTheOthersKept) {
  for (std::string_view bad : {
           "Rojo=1",      // uppercase key
           "@system=1",   // a key starts with a letter or digit
           "_k=1",
           "rojo",        // no '='
           "rojo=",       // empty value
           "rojo=a=b",    // '=' in value
           "rojo=\x7f",   // outside the value alphabet
           "foo.bar=1",   // '.' is no key character
       }) {
    const std::string header = "a=1," + std::string(bad) + ",z=2";
    EXPECT_EQ(tracestate({header}), "a=1,z=2") << bad;
  }
  EXPECT_EQ(tracestate({std::string(257, 'a') + "=1,b=2"}), "b=2");  // key too long
}

// "Only one entry per key is allowed because the entry represents that last
// position in the trace": the left-most, the most recent, is kept.
TEST(Tracestate, OfADuplicatedKeyTheLeftMostMemberIsKept) {
  EXPECT_EQ(tracestate({"foo=1,foo=2"}), "foo=1");
  EXPECT_EQ(tracestate({"foo=1", "bar=3,foo=2"}), "foo=1,bar=3");
  EXPECT_EQ(tracestate({"foo=,foo=2"}), "foo=2");  // an invalid one does not count
}

// "Entries larger than 128 characters long SHOULD be removed first. Then
// entries SHOULD be removed starting from the end of tracestate."
TEST(Tracestate, OverTheLimitsWholeMembersGoLongOnesFirstThenFromTheEnd) {
  std::string members;
  for (int i = 0; i < 33; ++i) members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  std::string first32 = members.substr(0, members.rfind(",k32"));
  EXPECT_EQ(tracestate({first32}), first32);
  EXPECT_EQ(tracestate({members}), first32);  // the 33rd, from the end, goes
  const std::string long1 = "long1=" + std::string(200, 'x');
  const std::string long2 = "long2=" + std::string(200, 'y');
  const std::string long3 = "long3=" + std::string(200, 'z');
  // Three 206-character members and short ones, over 512: a long one goes
  // first (the last of them), not the short member at the end.
  EXPECT_EQ(tracestate({"a=1," + long1 + ",b=2," + long2 + "," + long3 + ",c=3"}),
            "a=1," + long1 + ",b=2," + long2 + ",c=3");
  // Short members only, over 512 characters: dropped from the end.
  std::string many;
  for (int i = 0; i < 30; ++i) many += (i ? ",k" : "k") + std::to_string(i) + "=" + std::string(20, 'v');
  const std::string kept = tracestate({many});
  EXPECT_LE(kept.size(), 512u);
  EXPECT_EQ(kept, many.substr(0, kept.size()));
  EXPECT_EQ(many[kept.size()], ',');
}

// trace-flags: each bit alone and combined; only sampled (bit 0) and random
// (bit 1) are sent on, "Vendors MUST set those to zero" for the others.
TEST(TraceFlags, OnlySampledAndRandomAreSentOn) {
  const auto trace = aiolocals::generate_trace_id();
  const auto span = aiolocals::generate_span_id();
  for (unsigned bit = 0; bit < 8; ++bit) {
    const auto flags = static_cast<std::uint8_t>(1u << bit);
    const std::string sent = aiolocals::format_traceparent(trace, span, flags);
    EXPECT_EQ(sent.substr(53), bit == 0 ? "01" : bit == 1 ? "02" : "00") << bit;
  }
  EXPECT_EQ(aiolocals::format_traceparent(trace, span, 0xff).substr(53), "03");
  EXPECT_EQ(aiolocals::format_traceparent(trace, span, 0x09).substr(53), "01");
}

TEST(TraceFlags, AContinuedTraceKeepsSampledAndRandomAsReceivedAndDropsTheRest) {
  const std::vector<std::string_view> none;
  for (const auto& [incoming, kept] : std::vector<std::pair<std::string, std::uint8_t>>{
           {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", 0x03},
           {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", 0x01},
           {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", 0x02},
           {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 0x00},
           {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-future", 0x03},
       }) {
    const std::vector<std::string_view> parents{incoming};
    const auto trace = aiolocals::continue_or_start_trace(parents, none);
    EXPECT_EQ(trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736") << incoming;
    EXPECT_EQ(trace.flags, kept) << incoming;
    EXPECT_EQ(aiolocals::format_traceparent(trace.trace, trace.span, trace.flags).substr(0, 3), "00-");
  }
}

TEST(TraceFlags, ATraceWeStartIsMarkedRandom) {
  const auto started = aiolocals::start_trace();
  EXPECT_TRUE(started.flags & aiolocals::trace_flag_random);
  EXPECT_FALSE(started.flags & aiolocals::trace_flag_sampled);  // no span sink here
}

}  // namespace
