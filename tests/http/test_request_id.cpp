// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/http/request_id.hpp, the framework-neutral request-id
// rules: validation, generation, choosing among header values, the target's
// path, diagnostics. No HTTP framework involved.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/http/request_id.hpp"

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

TEST(RequestId, AForkedChildDoesNotRepeatTheParentsIds) {
  (void)aiolocals::generate_request_id();  // the parent's buffer is now full
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = aiolocals::generate_request_id();
    (void)!write(pipe_ends[1], id.data(), id.size());
    _exit(0);
  }
  char buffer[36] = {};
  ASSERT_EQ(read(pipe_ends[0], buffer, sizeof buffer), 36);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_ends[0]);
  close(pipe_ends[1]);
  EXPECT_NE(std::string(buffer, 36), aiolocals::generate_request_id());
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
    EXPECT_EQ(info.trace.flags, 0);
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
