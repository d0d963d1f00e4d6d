// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/http/request_id.hpp, the framework-neutral request-id
// rules: validation, generation, choosing among header values, the target's
// path, diagnostics. No HTTP framework involved.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../../src/entropy.hpp"
#include "aiolocals/http/request_id.hpp"
#include "aiolocals/request_tracking.hpp"
#include "forked_child.hpp"

namespace {

const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

std::string choose(std::initializer_list<std::string_view> values,
                   const aiolocals::tracking_options& options = {}) {
  const std::vector<std::string_view> all(values);
  return aiolocals::choose_request_id(all, options);
}

TEST(RequestId, SafeIdsAreKeptVerbatim) {
  for (const std::string& id :
       std::vector<std::string>{"a", "abc-123", "A.b_c:d-e", std::string(128, 'x'),
                                "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"}) {
    EXPECT_EQ(choose({id}), id);
    EXPECT_TRUE(aiolocals::is_safe_request_id(id));
  }
}

// Every byte value, alone and in the middle and at the end of a safe id.
TEST(RequestId, ExactlyTheDocumentedAlphabetIsSafe) {
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
  for (int value = 0; value < 256; ++value) {
    const char c = static_cast<char>(value);
    const bool in_alphabet = alphabet.find(c) != std::string_view::npos;
    EXPECT_EQ(aiolocals::is_safe_request_id(std::string(1, c)), in_alphabet) << value;
    EXPECT_EQ(aiolocals::is_safe_request_id("id-" + std::string(1, c) + "-42"), in_alphabet)
        << value;
    EXPECT_EQ(aiolocals::is_safe_request_id(std::string(127, 'a') + c), in_alphabet) << value;
  }
}

TEST(RequestId, HostileOrMissingIdsGetAFreshIdNeverTheirBytes) {
  const std::vector<std::string> hostile = {
      "",                           // empty
      std::string(129, 'x'),        // too long
      std::string(4096, 'A'),       // far too long
      "abc\r\nX-Forged: 1",         // CR/LF
      "line\nINFO forged entry",    // LF
      "tab\there",                  // control character
      std::string("nul\0byte", 8),  // NUL
      "\x1b[31mred",                // terminal escape
      "caf\xc3\xa9",                // non-ASCII
      "has space",                  // space
      "semi;colon",                 // outside the alphabet
  };
  std::set<std::string> generated;
  for (const auto& id : hostile) {
    const std::string chosen = choose({id});
    EXPECT_TRUE(std::regex_match(chosen, uuid_v4)) << chosen;
    if (!id.empty()) {
      EXPECT_EQ(chosen.find(id), std::string::npos);
    }
    EXPECT_FALSE(aiolocals::is_safe_request_id(id));
    generated.insert(chosen);
  }
  EXPECT_TRUE(std::regex_match(choose({}), uuid_v4));
  EXPECT_EQ(generated.size(), hostile.size());  // every one fresh
}

TEST(RequestId, DuplicateValuesMustAgree) {
  EXPECT_EQ(choose({"same", "same", "same"}), "same");
  EXPECT_TRUE(std::regex_match(choose({"mine", "someone-elses"}), uuid_v4));
}

TEST(RequestId, DescribeRequestKeepsThePathWithoutTheQuery) {
  const std::vector<std::string_view> ids{"d-1"};
  const aiolocals::request_info info =
      aiolocals::describe_request("POST", "/orders/7?token=secret#frag", ids, {});
  EXPECT_EQ(info.id, "d-1");
  EXPECT_EQ(info.method, "POST");
  EXPECT_EQ(info.path, "/orders/7");
  EXPECT_EQ(info.kind, aiolocals::request_kind::request);
}

TEST(RequestId, CustomValidatorAndGenerator) {
  aiolocals::tracking_options options;
  options.is_acceptable = [](std::string_view id) { return id.starts_with("ok-"); };
  options.generate = [] { return std::string("generated"); };
  EXPECT_EQ(choose({"ok-1"}, options), "ok-1");
  EXPECT_EQ(choose({"bad-1"}, options), "generated");
}

// On main before the fix: a permissive validator let raw CR, LF, ESC, NUL
// and 0xFF through into the echoed header and the stderr report.
TEST(RequestId, WhateverAValidatorAcceptsTheIdIsPrintableAscii) {
  aiolocals::tracking_options options;
  options.is_acceptable = [](std::string_view) { return true; };
  for (const std::string& hostile :
       {std::string("a\r\nSet-Cookie: x"), std::string("a\x1b[31m"), std::string("a\0b", 3),
        std::string("\xff"), std::string("tab\there"), std::string("del\x7f")}) {
    const std::string chosen = choose({hostile}, options);
    EXPECT_TRUE(std::regex_match(chosen, uuid_v4)) << chosen;
  }
  options.generate = [] { return std::string("gen\r\n"); };  // a careless generator too
  EXPECT_TRUE(std::regex_match(choose({"bad\n"}, options), uuid_v4));
  // Printable: the validator decides.
  EXPECT_EQ(choose({"fine id with spaces"}, options), "fine id with spaces");
}

// Issue 21, case 9: on main `-` (the flags' "no request" marker) was kept
// and printed as if no request were running, and a job-shaped id passed.
TEST(RequestId, MarkersAndJobShapedIdsAreNeverAClientsId) {
  const std::string job_id = aiolocals::make_job_id("nightly");
  for (const std::string& reserved :
       {std::string("-"), std::string("(unknown)"), std::string("nightly-0123456789abcdef"),
        std::string("-0123456789abcdef"), job_id}) {
    EXPECT_TRUE(aiolocals::is_reserved_request_id(reserved)) << reserved;
    EXPECT_TRUE(std::regex_match(choose({reserved}), uuid_v4)) << reserved;
    aiolocals::tracking_options permissive;
    permissive.is_acceptable = [](std::string_view) { return true; };
    EXPECT_TRUE(std::regex_match(choose({reserved}, permissive), uuid_v4)) << reserved;
  }
  // Near misses stay a client's: uppercase hex, 15 or 17 digits, no dash.
  for (const std::string& kept :
       {std::string("nightly-0123456789ABCDEF"), std::string("nightly-0123456789abcde"),
        std::string("nightly-0123456789abcdef0"), std::string("nightly_0123456789abcdef"),
        std::string("--"), std::string("unknown")}) {
    EXPECT_FALSE(aiolocals::is_reserved_request_id(kept)) << kept;
    EXPECT_EQ(choose({kept}), kept);
  }
}

// Issue 21, case 8: on main a throwing validator or generator escaped
// choose_request_id (and track_requests, with no response), and a
// generator's 1 MB, `-` or `(unknown)` id was kept.
TEST(RequestId, AThrowingOrAbsurdCallbackIsReplacedAndToldOnce) {
  aiolocals::tracking_options options;
  options.is_acceptable = [](std::string_view) -> bool { throw std::runtime_error("validator\nboom"); };
  testing::internal::CaptureStderr();
  EXPECT_TRUE(std::regex_match(choose({"abc"}, options), uuid_v4));
  EXPECT_TRUE(std::regex_match(choose({"abc"}, options), uuid_v4));
  std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("is_acceptable threw"), std::string::npos) << said;
  EXPECT_NE(said.find("validator\\x0aboom"), std::string::npos) << said;  // escaped
  EXPECT_EQ(said.find("is_acceptable threw"), said.rfind("is_acceptable threw"));  // once

  aiolocals::tracking_options generating;
  generating.generate = []() -> std::string { throw std::runtime_error("no ids today"); };
  testing::internal::CaptureStderr();
  EXPECT_TRUE(std::regex_match(choose({}, generating), uuid_v4));
  said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("generate threw"), std::string::npos) << said;

  for (const std::string& absurd : {std::string(1 << 20, 'x'), std::string("-"),
                                    std::string("(unknown)"), std::string(""),
                                    std::string(aiolocals::max_request_id_size + 1, 'y')}) {
    generating.generate = [absurd] { return absurd; };
    testing::internal::CaptureStderr();
    EXPECT_TRUE(std::regex_match(choose({}, generating), uuid_v4)) << absurd.size();
    said = testing::internal::GetCapturedStderr();
    EXPECT_LT(said.size(), 1024u);  // bounded, whatever the generator made
  }
  generating.generate = [] { return std::string(aiolocals::max_request_id_size, 'z'); };
  EXPECT_EQ(choose({}, generating), std::string(aiolocals::max_request_id_size, 'z'));
}

TEST(RequestId, TheStderrReportEscapesIdMethodAndPath) {
  aiolocals::scope fresh;
  aiolocals::request.set(
      {"id\n\x1b", "GE\rT", std::string("/p\xff\0", 4), aiolocals::request_kind::request});
  testing::internal::CaptureStderr();
  aiolocals::tracking_options::report_to_stderr(
      std::make_exception_ptr(std::runtime_error("what\nnext")));
  const std::string report = testing::internal::GetCapturedStderr();
  EXPECT_EQ(report,
            "aiolocals: unhandled exception in request id\\x0a\\x1b GE\\x0dT "
            "/p\\xff\\x00: what\\x0anext\n");
}

TEST(RequestId, GeneratedIdsAreUniqueUuids) {
  std::set<std::string> ids;
  int well_formed = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string id = aiolocals::generate_request_id();
    well_formed += std::regex_match(id, uuid_v4);
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), 10000u);
  EXPECT_EQ(well_formed, 10000);
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  std::string text;
  for (std::size_t i = 0; i < size; ++i) {
    text.push_back("0123456789abcdef"[bytes[i] >> 4]);
    text.push_back("0123456789abcdef"[bytes[i] & 0xf]);
  }
  return text;
}

// Over 2 MB (some 2,000 refills from the OS), in odd-sized pieces that
// straddle refills: every bit position is set close to half the time and
// no 16-byte piece repeats. A buffer that handed out erased (zeroed) bytes
// or the same bytes twice would fail.
TEST(Entropy, RandomBytesAreBalancedAndNeverRepeat) {
  constexpr std::size_t pieces = 2'000'000 / 27;
  std::array<std::size_t, 8> ones{};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < pieces; ++i) {
    unsigned char piece[27];
    aiolocals::detail::random_bytes(piece, sizeof piece);
    for (unsigned char byte : piece) {
      for (int bit = 0; bit < 8; ++bit) ones[bit] += (byte >> bit) & 1;
    }
    EXPECT_TRUE(seen.insert(to_hex(piece, 16)).second) << "a repeated piece at " << i;
  }
  const double bytes = pieces * 27.0;
  for (int bit = 0; bit < 8; ++bit) {
    // Binomial: the standard deviation of the fraction is 0.5/sqrt(2e6) =
    // 0.00035; 0.005 is 14 of them.
    EXPECT_NEAR(static_cast<double>(ones[bit]) / bytes, 0.5, 0.005) << "bit " << bit;
  }
}

// Each thread keys its own stream from the OS: two threads' bytes differ.
TEST(Entropy, ThreadsDrawDifferentStreams) {
  unsigned char here[32], there[32];
  aiolocals::detail::random_bytes(here, sizeof here);
  std::thread([&] { aiolocals::detail::random_bytes(there, sizeof there); }).join();
  unsigned char fresh[32];
  std::thread([&] { aiolocals::detail::random_bytes(fresh, sizeof fresh); }).join();
  EXPECT_NE(to_hex(here, 32), to_hex(there, 32));
  EXPECT_NE(to_hex(there, 32), to_hex(fresh, 32));
}

// A thread_local destroyed after the thread's random_buffer (made before it, so
// destroyed after it) still gets a good id (from the OS), not freed memory.
TEST(Entropy, IdsMadeByLateThreadLocalDestructorsAreStillGood) {
  struct at_exit {
    std::string* out;
    ~at_exit() { *out = aiolocals::generate_request_id(); }
  };
  std::string id_at_exit, id_before;
  std::thread([&] {
    thread_local at_exit last{&id_at_exit};
    id_before = aiolocals::generate_request_id();  // makes the random_buffer after `last`
  }).join();
  EXPECT_TRUE(std::regex_match(id_at_exit, uuid_v4)) << id_at_exit;
  EXPECT_NE(id_at_exit, id_before);
}

TEST(RequestId, AForkedChildDoesNotRepeatTheParentsIds) {
  (void)aiolocals::generate_request_id();  // the parent's buffer is now full
  const std::string in_child =
      test_support::in_forked_child([] { return aiolocals::generate_request_id(); });
  ASSERT_EQ(in_child.size(), 36u);
  EXPECT_NE(in_child, aiolocals::generate_request_id());
}

TEST(RequestPath, QueryAndFragmentAreDropped) {
  using aiolocals::path_without_query;
  EXPECT_EQ(path_without_query("/a/b?token=secret"), "/a/b");
  EXPECT_EQ(path_without_query("/a#frag"), "/a");
  EXPECT_EQ(path_without_query("/plain"), "/plain");
  EXPECT_EQ(path_without_query("?only"), "");
}

constexpr std::string_view incoming_parent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(RequestTrace, AValidTraceparentIsContinuedWithASpanOfOurOwn) {
  const std::vector<std::string_view> ids{"r-1"}, parents{incoming_parent},
      states{"rojo=00f067aa0ba902b7"};
  const auto info = aiolocals::describe_request("GET", "/", {ids, parents, states}, {});
  EXPECT_EQ(info.trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(info.trace.parent.to_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(info.trace.span.is_valid());
  EXPECT_NE(info.trace.span, info.trace.parent);
  EXPECT_EQ(info.trace.flags, 1);
  EXPECT_EQ(info.trace.tracestate, "rojo=00f067aa0ba902b7");
}

TEST(RequestTrace, MissingDuplicatedOrInvalidTraceparentsRestartTheTrace) {
  const std::vector<std::string_view> ids{"r-1"}, states{"rojo=1"};
  const std::vector<std::vector<std::string_view>> cases{
      {},
      {incoming_parent, incoming_parent},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}};
  for (const auto& parents : cases) {
    const auto info = aiolocals::describe_request("GET", "/", {ids, parents, states}, {});
    EXPECT_TRUE(info.trace.is_valid());
    EXPECT_FALSE(info.trace.parent.is_valid());  // the trace starts here
    EXPECT_NE(info.trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(info.trace.tracestate, "");  // only kept with the traceparent
    // Level 2: a trace we start has random ids, so `random` is set; not
    // sampled while no span sink records it.
    EXPECT_EQ(info.trace.flags, aiolocals::trace_flag_random);
  }
}

TEST(RequestTrace, AnEdgeServiceIgnoresIncomingIdsAndTraces) {
  aiolocals::tracking_options edge;
  edge.trust_incoming_request_id = false;
  edge.trust_incoming_trace = false;
  const std::vector<std::string_view> ids{"client-chosen"}, parents{incoming_parent};
  const auto info = aiolocals::describe_request("GET", "/", {ids, parents, {}}, edge);
  EXPECT_TRUE(std::regex_match(info.id, uuid_v4));
  EXPECT_NE(info.trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(info.trace.parent.is_valid());
}

TEST(RequestTrace, AJobStartsATraceOfItsOwn) {
  const auto job = aiolocals::make_job_record("nightly");
  EXPECT_TRUE(job.trace.is_valid());
  EXPECT_FALSE(job.trace.parent.is_valid());
}

}  // namespace
