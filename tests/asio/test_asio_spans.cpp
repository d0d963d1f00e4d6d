// SPDX-License-Identifier: BSL-1.0
// `co_await aiolocals::span(name, op)` (aiolocals/asio/span.hpp): nesting
// across thread hops, errors, cancellation, abandonment, `||`/`&&`
// branches, and many concurrent tasks on several threads of one io_context.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/asio/awaitable_operators.hpp"
#include "aiolocals/span.hpp"
#include "span_collector.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {

awaitable<aiolocals::span_context> hop_and_report(asio::thread_pool& other) {
  co_await asio::post(other.get_executor(), asio::use_awaitable);  // another thread
  co_return aiolocals::current_span();
}

TEST(AsioSpan, NestsAcrossThreadHopsAndRestoresTheCallersSpan) {
  test_support::span_collector spans;
  asio::io_context io;
  asio::thread_pool other(1);
  auto body = [&]() -> awaitable<void> {
    const aiolocals::span_context job = aiolocals::current_span();
    const aiolocals::span_context seen = co_await aiolocals::span("outer", [&]() -> awaitable<aiolocals::span_context> {
      const aiolocals::span_context outer = aiolocals::current_span();
      const aiolocals::span_context inner = co_await aiolocals::span("inner", hop_and_report(other));
      EXPECT_EQ(inner.parent, outer.span);
      EXPECT_EQ(aiolocals::current_span().span, outer.span);
      co_return outer;
    }());
    EXPECT_EQ(seen.parent, job.span);
    EXPECT_EQ(aiolocals::current_span().span, job.span);  // the caller's span again
  };
  auto done = asio::co_spawn(io, aiolocals::job_context("spans", body()), asio::use_future);
  io.run();
  done.get();
  const auto* outer = spans.find("outer");
  const auto* inner = spans.find("inner");
  ASSERT_TRUE(outer && inner);
  EXPECT_EQ(inner->parent, outer->span);
  EXPECT_LE(outer->start, inner->start);
  EXPECT_LE(inner->end, outer->end);
}

awaitable<int> fails() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  throw std::runtime_error("price service down");
}

TEST(AsioSpan, AnExceptionEndsItAsAnErrorAndPropagates) {
  test_support::span_collector spans;
  asio::io_context io;
  auto done = asio::co_spawn(io, aiolocals::span("price", fails()), asio::use_future);
  io.run();
  EXPECT_THROW(done.get(), std::runtime_error);
  const auto* price = spans.find("price");
  ASSERT_TRUE(price);
  EXPECT_EQ(price->status, aiolocals::span_status::error);
  EXPECT_EQ(price->status_message, "price service down");
}

awaitable<void> waits(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

TEST(AsioSpan, BranchesOfOrAndAndEachHaveTheirOwnSpanAndTheLoserEndsCancelled) {
  using namespace aiolocals::awaitable_operators;
  test_support::span_collector spans;
  asio::io_context io;
  auto body = [&]() -> awaitable<void> {
    co_await (aiolocals::span("fast", waits(1ms)) || aiolocals::span("slow", waits(10s)));
    co_await (aiolocals::span("left", waits(1ms)) && aiolocals::span("right", waits(1ms)));
  };
  auto done = asio::co_spawn(io, aiolocals::job_context("branches", body()), asio::use_future);
  io.run();
  done.get();
  const auto* fast = spans.find("fast");
  const auto* slow = spans.find("slow");
  const auto* left = spans.find("left");
  const auto* right = spans.find("right");
  ASSERT_TRUE(fast && slow && left && right);
  EXPECT_EQ(fast->status, aiolocals::span_status::ok);
  EXPECT_EQ(slow->status, aiolocals::span_status::error);
  EXPECT_EQ(slow->status_message.rfind("cancelled", 0), 0u) << slow->status_message;
  EXPECT_NE(left->span, right->span);
  EXPECT_EQ(left->parent, right->parent);  // both children of the job's span
}

TEST(AsioSpan, ASpanWhoseCoroutineIsDestroyedStillEndsAsCancelled) {
  test_support::span_collector spans;
  {
    asio::io_context io;
    asio::co_spawn(io, aiolocals::span("abandoned", waits(10s)), asio::detached);
    io.run_for(5ms);
  }  // the io_context dies with the span's coroutine suspended
  const auto* abandoned = spans.find("abandoned");
  ASSERT_TRUE(abandoned);
  EXPECT_EQ(abandoned->status, aiolocals::span_status::error);
  EXPECT_EQ(abandoned->status_message.rfind("cancelled", 0), 0u);
}

TEST(AsioSpan, TenThousandConcurrentTasksOnSeveralThreadsRecordOneTreeEach) {
  test_support::span_collector spans;
  asio::io_context io;
  constexpr int tasks = 10'000;
  for (int i = 0; i < tasks; ++i) {
    asio::co_spawn(io,
                   aiolocals::job_context("task", [&]() -> awaitable<void> {
                     co_await aiolocals::span("step", [&]() -> awaitable<void> {
                       co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                       co_await aiolocals::span("leaf", waits(0ms));
                     }());
                   }()),
                   asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  const auto records = spans.records();
  ASSERT_EQ(records.size(), 2u * tasks);
  std::map<std::string, const aiolocals::span_record*> by_span;
  for (const auto& r : records) by_span[r.span.to_hex()] = &r;
  int leaves = 0;
  for (const auto& r : records) {
    if (r.name != "leaf") continue;
    ++leaves;
    const auto parent = by_span.find(r.parent.to_hex());
    ASSERT_NE(parent, by_span.end());
    EXPECT_EQ(parent->second->name, "step");
    EXPECT_EQ(parent->second->trace, r.trace);  // every parent in the same trace
    EXPECT_EQ(parent->second->request_id, r.request_id);
  }
  EXPECT_EQ(leaves, tasks);
}

}  // namespace
