// SPDX-License-Identifier: BSL-1.0
// Spans without a framework (aiolocals/span.hpp, trace/span_record.hpp):
// the synchronous `span`, nesting, errors, sinks, the sampled switch, the
// JSON line and the client span.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"
#include "aiolocals/trace/span_record.hpp"
#include "span_collector.hpp"

namespace {

using aiolocals::span_status;

TEST(Span, WithoutASinkItCostsIdsOnlyButLinesStillSeeIt) {
  aiolocals::remove_span_sinks();
  EXPECT_FALSE(aiolocals::span_recording_enabled());
  const aiolocals::span_context outside = aiolocals::current_span();
  EXPECT_FALSE(outside.is_valid());
  const aiolocals::span_context inside =
      aiolocals::span("work", [] { return aiolocals::current_span(); });
  EXPECT_TRUE(inside.is_valid());          // a new trace outside any
  EXPECT_FALSE(inside.parent.is_valid());  // ... whose root it is
  EXPECT_FALSE(aiolocals::current_span().is_valid());  // the caller's context untouched
}

TEST(Span, NestedSpansBuildATreeInsideARequestWithIntervalsThatNest) {
  test_support::span_collector spans;
  aiolocals::job_context("nightly", [] {
    const aiolocals::span_context job = aiolocals::current_span();
    ASSERT_TRUE(job.is_valid());
    aiolocals::span("outer", [&] {
      const aiolocals::span_context outer = aiolocals::current_span();
      EXPECT_EQ(outer.trace, job.trace);
      EXPECT_EQ(outer.parent, job.span);
      aiolocals::span("inner", [&] {
        EXPECT_EQ(aiolocals::current_span().parent, outer.span);
        // A copy of the context (what a spawned task takes) inherits it.
        const aiolocals::context copy = aiolocals::context::current().copy();
        std::thread([&] {
          copy.run([&] { EXPECT_EQ(aiolocals::current_span().parent, outer.span); });
        }).join();
      });
      EXPECT_EQ(aiolocals::current_span().span, outer.span);  // back in outer
    });
  });
  const auto* outer = spans.find("outer");
  const auto* inner = spans.find("inner");
  ASSERT_TRUE(outer && inner);
  EXPECT_EQ(inner->parent, outer->span);
  EXPECT_EQ(inner->trace, outer->trace);
  EXPECT_LE(outer->start, inner->start);
  EXPECT_LE(inner->end, outer->end);
  EXPECT_EQ(outer->status, span_status::ok);
  EXPECT_EQ(outer->kind, aiolocals::span_kind::internal);
  EXPECT_EQ(outer->request_id.rfind("nightly-", 0), 0u);  // the job's id
}

TEST(Span, AnExceptionEndsItAsAnErrorAndPropagatesWithTheContextRestored) {
  test_support::span_collector spans;
  const aiolocals::context before = aiolocals::context::current();
  EXPECT_THROW(aiolocals::span("fails", []() -> int { throw std::runtime_error("no \"stock\"\n"); }),
               std::runtime_error);
  EXPECT_EQ(aiolocals::context::current(), before);
  const auto* failed = spans.find("fails");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, span_status::error);
  EXPECT_EQ(failed->status_message, "no \"stock\"\n");
  std::string line;
  aiolocals::append_span_json(line, *failed);
  // Escaped by the log lines' writer: one line, the quote and newline escaped.
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find(R"("status":{"code":"error","message":"no \"stock\"\n"})"), std::string::npos)
      << line;
}

TEST(Span, TheJsonLineUsesOpenTelemetrysNames) {
  aiolocals::span_record record;
  record.trace = aiolocals::generate_trace_id();
  record.span = aiolocals::generate_span_id();
  record.name = "GET";
  record.kind = aiolocals::span_kind::server;
  record.start = std::chrono::system_clock::time_point(std::chrono::seconds(1764912000)) +
                 std::chrono::nanoseconds(5);
  record.end = record.start + std::chrono::microseconds(1500);
  record.status = span_status::ok;
  record.attributes = {{"url.path", std::string("/a")},
                       {"http.response.status_code", std::int64_t{200}}};
  record.request_id = "r-1";
  std::string line;
  aiolocals::append_span_json(line, record);
  EXPECT_EQ(line, "{\"trace_id\":\"" + record.trace.to_hex() + "\",\"span_id\":\"" +
                      record.span.to_hex() +
                      "\",\"name\":\"GET\",\"kind\":\"server\","
                      "\"start_time\":\"2025-12-05T05:20:00.000000005Z\","
                      "\"end_time\":\"2025-12-05T05:20:00.001500005Z\",\"duration_ns\":1500000,"
                      "\"status\":{\"code\":\"ok\"},\"attributes\":{\"url.path\":\"/a\","
                      "\"http.response.status_code\":200},\"request_id\":\"r-1\"}");
}

TEST(Span, RecordingOnlySampledTracesHonoursTheFlag) {
  test_support::span_collector spans;
  aiolocals::record_sampled_spans_only();
  aiolocals::request_info sampled, unsampled;
  sampled.trace = aiolocals::start_trace();  // a sink is installed: sampled
  EXPECT_TRUE(sampled.trace.flags & aiolocals::trace_flag_sampled);
  unsampled.trace = sampled.trace;
  unsampled.trace.flags = aiolocals::trace_flag_random;
  aiolocals::context a, b;
  a.run([&] {
    aiolocals::request.set(sampled);
    aiolocals::span("kept", [] {});
  });
  b.run([&] {
    aiolocals::request.set(unsampled);
    aiolocals::span("dropped", [] {});
  });
  EXPECT_TRUE(spans.find("kept"));
  EXPECT_FALSE(spans.find("dropped"));
}

TEST(Span, ASinkThatThrowsDoesNotStopTheOthersNorTheWork) {
  test_support::span_collector spans;
  aiolocals::add_span_sink([](const aiolocals::span_record&) { throw std::runtime_error("x"); });
  EXPECT_EQ(aiolocals::span("still", [] { return 7; }), 7);
  EXPECT_TRUE(spans.find("still"));
}

TEST(ClientSpan, EachCallHasItsOwnSpanUnderTheCurrentOneAndEndsWithItsStatus) {
  test_support::span_collector spans;
  aiolocals::job_context("caller", [] {
    const aiolocals::span_context server = aiolocals::current_span();
    aiolocals::client_span price("GET"), stock("GET");
    EXPECT_EQ(price.ids().parent, server.span);
    EXPECT_EQ(stock.ids().parent, server.span);
    EXPECT_NE(price.ids().span, stock.ids().span);
    price.end(200);
    stock.end(503);
    { aiolocals::client_span dropped("GET"); }  // never ended: cancelled
  });
  const auto records = spans.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].status, span_status::ok);
  EXPECT_EQ(records[1].status, span_status::error);
  EXPECT_EQ(records[2].status, span_status::error);
  EXPECT_EQ(records[2].status_message.rfind("cancelled", 0), 0u);
  for (const auto& r : records) EXPECT_EQ(r.kind, aiolocals::span_kind::client);
}

TEST(ClientSpan, AMovedFromSpanHoldsNoneAndTheSpanEndsOnce) {
  test_support::span_collector spans;
  aiolocals::job_context("caller", [] {
    aiolocals::client_span call("GET");
    const aiolocals::span_id id = call.ids().span;
    aiolocals::client_span kept = std::move(call);
    EXPECT_FALSE(call.is_valid());  // NOLINT(bugprone-use-after-move): what a moved-from span says
    EXPECT_FALSE(call.ids().is_valid());
    call.end(500);  // nothing: it holds no span
    EXPECT_EQ(kept.ids().span, id);
    aiolocals::client_span other("POST");
    other = std::move(kept);  // other's own span ends as cancelled
    other.end(200);
  });
  const auto records = spans.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "POST");
  EXPECT_EQ(records[0].status_message.rfind("cancelled", 0), 0u);
  EXPECT_EQ(records[1].name, "GET");
  EXPECT_EQ(records[1].status, span_status::ok);
}

}  // namespace
