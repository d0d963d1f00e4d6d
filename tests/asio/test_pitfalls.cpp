// SPDX-License-Identifier: BSL-1.0
// Tests for the ways off the paved road (README "Pitfalls"): each ends in a
// correct result or a clear, early error, never a wrong value or a crash.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/asio/awaitable_operators.hpp"
#include "aiolocals/local.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

namespace {

aiolocals::local<int> who{"who"};

// Runs `io` on `threads` threads; returns how many times run() threw a
// context_error whose message names `fix` (and rethrows any other error).
int run_counting_errors(asio::io_context& io, int threads, const std::string& fix) {
  std::atomic<int> errors{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const aiolocals::context_error& error) {
          EXPECT_NE(std::string(error.what()).find(fix), std::string::npos) << error.what();
          ++errors;
        }
      }
    });
  }
  for (auto& thread : pool) thread.join();
  return errors;
}

awaitable<void> wait(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(use_awaitable);
}

// --- 1. a scope held across co_await -----------------------------------------

// On main before the fix: 600 of 600 reads wrong, then a heap-use-after-free
// in scope::~scope. Now each coroutine's first suspension throws out of
// io_context::run() naming the fix, no read ever sees another coroutine's
// value, and the frames finish without a memory error.
TEST(Pitfalls, ScopeHeldAcrossCoAwaitIsReportedAtTheSuspension) {
  asio::io_context io(2);
  std::atomic<int> finished{0}, wrong{0};
  for (int id = 1; id <= 200; ++id) {
    aiolocals::co_spawn(
        io,
        [](int id, std::atomic<int>& finished, std::atomic<int>& wrong) -> awaitable<void> {
          aiolocals::scope misuse;  // the bug under test
          who.set(id);
          for (int step = 0; step < 3; ++step) {
            co_await wait(1ms);
            const int* seen = who.find();
            if (seen != nullptr && *seen != id) ++wrong;
          }
          ++finished;
        }(id, finished, wrong),
        asio::detached);
  }
  EXPECT_EQ(run_counting_errors(io, 2, "aiolocals::co_run"), 200);
  EXPECT_EQ(finished, 200);
  EXPECT_EQ(wrong, 0);
  EXPECT_FALSE(who.is_set());
}

// Issue 21, case 3: a scope held across co_await in a coroutine on a plain
// io_context (asio::co_spawn(io, ...)), whose suspensions no adapter of
// ours sees. On main: no error, and an unrelated heartbeat coroutine read
// the misusing coroutines' values (132 of 268 reads on one thread), then a
// terminate with overlapping ones. Now opening the scope throws at once,
// naming the fix, and the heartbeat never reads a value. 1, 2 and 4 io
// threads, none of them inside a scope of its own (each in its root).
class ScopeOnAPlainExecutor : public testing::TestWithParam<int> {};

TEST_P(ScopeOnAPlainExecutor, IsRefusedWhereItOpensAndNothingLeaks) {
  const int threads = GetParam();
  asio::io_context io(threads);
  std::atomic<int> refused{0}, opened{0}, heartbeat_reads{0}, heartbeat_wrong{0};
  std::atomic<bool> done{false};
  for (int id = 1; id <= 50; ++id) {
    asio::co_spawn(
        io,
        [](int id, std::atomic<int>& refused, std::atomic<int>& opened) -> awaitable<void> {
          try {
            aiolocals::scope misuse;  // the bug under test
            ++opened;
            who.set(id);
            co_await wait(1ms);
          } catch (const aiolocals::context_error& error) {
            EXPECT_NE(std::string(error.what()).find("aiolocals::co_spawn"), std::string::npos);
            ++refused;
          }
        }(id, refused, opened),
        asio::detached);
  }
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        for (int beat = 0; beat < 200 && (beat < 20 || refused + opened < 50); ++beat) {
          ++heartbeat_reads;
          heartbeat_wrong += who.find() != nullptr;
          co_await asio::post(use_awaitable);
        }
        done = true;
      },
      asio::detached);
  testing::internal::CaptureStderr();  // the once-only stderr line
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  for (auto& thread : pool) thread.join();
  testing::internal::GetCapturedStderr();
  EXPECT_TRUE(done);
  EXPECT_EQ(refused, 50);
  EXPECT_EQ(opened, 0);
  EXPECT_GE(heartbeat_reads, 20);
  EXPECT_EQ(heartbeat_wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, ScopeOnAPlainExecutor, testing::Values(1, 2, 4));

// What stays allowed there: a scope on the stack of a plain function the
// coroutine calls (ctx.run), and a scope in a plain handler.
TEST(Pitfalls, AScopeOnTheStackInAPlainHandlerOrCoroutineIsFine) {
  asio::io_context io;
  std::atomic<int> right{0};
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await asio::post(use_awaitable);
        aiolocals::context{}.run([&] {
          who.set(7);
          right += who.get() == 7;
        });
        right += !who.is_set();
      },
      asio::detached);
  asio::post(io, [&] {
    aiolocals::scope block;  // on this handler's stack
    who.set(8);
    right += who.get() == 8;
  });
  std::thread([&] { io.run(); }).join();
  EXPECT_EQ(right, 3);
}

TEST(Pitfalls, RequestScopeStyleGuardInASyncHandlerStillWorks) {
  // A scope opened and closed inside one resumption is the paved road.
  asio::io_context io(2);
  std::atomic<int> right{0};
  for (int id = 1; id <= 100; ++id) {
    aiolocals::co_spawn(
        io,
        [](int id, std::atomic<int>& right) -> awaitable<void> {
          co_await wait(1ms);
          {
            aiolocals::scope block;
            who.set(id);
            right += who.get() == id;
          }
          right += !who.is_set();
        }(id, right),
        asio::detached);
  }
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(right, 200);
}

using PitfallsDeathTest = ::testing::Test;

TEST_F(PitfallsDeathTest, ScopeDestroyedOnAnotherThreadTerminatesNamingTheFix) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto guard = std::make_unique<aiolocals::scope>();
        std::thread([&] { guard.reset(); }).join();
      },
      "aiolocals::co_run");
}

TEST_F(PitfallsDeathTest, ScopesDestroyedOutOfOrderTerminate) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto outer = std::make_unique<aiolocals::scope>();
        auto inner = std::make_unique<aiolocals::scope>();
        outer.reset();
      },
      "out of order");
}

// The coroutine form of `with Context():`: 200 coroutines, three waits
// each, all 600 reads right, on two threads; the caller's context untouched.
TEST(Pitfalls, CoRunRunsABlockOfAwaitsInAFreshContext) {
  asio::io_context io(2);
  std::atomic<int> right{0}, caller_untouched{0};
  for (int id = 1; id <= 200; ++id) {
    aiolocals::co_spawn(
        io,
        [](int id, std::atomic<int>& right, std::atomic<int>& untouched) -> awaitable<void> {
          int result = co_await aiolocals::co_run(
              aiolocals::context{}, [](int id, std::atomic<int>& right) -> awaitable<int> {
                who.set(id);
                for (int step = 0; step < 3; ++step) {
                  co_await wait(1ms);
                  right += who.get() == id;
                }
                co_return id * 2;
              }(id, right));
          untouched += result == id * 2 && !who.is_set();
        }(id, right, caller_untouched),
        asio::detached);
  }
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(right, 600);
  EXPECT_EQ(caller_untouched, 200);
}

TEST(Pitfalls, CoRunWithAGivenContextWritesIntoIt) {
  asio::io_context io;
  aiolocals::context target;
  target.run([] { who.set(1); });
  int seen_inside = 0;
  auto body = [&]() -> awaitable<void> {
    co_await aiolocals::co_run(target, [&]() -> awaitable<void> {
      seen_inside = who.get();
      co_await wait(1ms);
      who.set(2);
    }());
    EXPECT_FALSE(who.is_set());
  };
  aiolocals::co_spawn(io, body(), asio::detached);
  io.run();
  EXPECT_EQ(seen_inside, 1);
  EXPECT_EQ(*target.find(who), 2);
}

// --- 2. setting a local in a thread's root context inside a handler ----------

// On main before the fix: 4,992 of 5,000 reads saw another coroutine's
// value. Now every such write throws, naming the fix, and no thread's root
// context is written.
TEST(Pitfalls, SetInTheRootContextOfAPlainCoSpawnThrows) {
  asio::io_context io(2);
  std::atomic<int> refused{0}, done{0};
  for (int id = 1; id <= 5000; ++id) {
    asio::co_spawn(
        io,
        [](int id) -> awaitable<void> {
          who.set(id);  // no context of its own: the thread's root
          co_await wait(0ms);
        }(id),
        [&](std::exception_ptr error) {
          ++done;
          try {
            if (error) std::rethrow_exception(error);
          } catch (const aiolocals::context_error& e) {
            refused += std::string(e.what()).find("aiolocals::co_spawn") != std::string::npos;
          }
        });
  }
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(done, 5000);
  EXPECT_EQ(refused, 5000);
  EXPECT_FALSE(who.is_set());
}

TEST(Pitfalls, SetInAPlainPostedHandlerThrowsOutOfRun) {
  asio::io_context io;
  asio::post(io, [] { who.set(1); });
  EXPECT_EQ(run_counting_errors(io, 1, "allow_root_writes"), 1);
  // Outside a handler, the root context is this thread's own: allowed.
  std::thread([] {
    who.set(3);
    EXPECT_EQ(who.get(), 3);
  }).join();
}

TEST(Pitfalls, RootWritesCanBeAllowedOnPurpose) {
  aiolocals::allow_root_writes();
  asio::io_context io;
  int seen = 0;
  asio::post(io, [&] {
    who.set(7);
    seen = who.get();
  });
  EXPECT_EQ(run_counting_errors(io, 1, "-"), 0);
  aiolocals::allow_root_writes(false);
  EXPECT_EQ(seen, 7);
}

// Documented, not detectable: a child started with plain asio::co_spawn on
// the task's own executor is a coroutine of the same task and shares its
// context; aiolocals::co_spawn gives it a copy.
TEST(Pitfalls, PlainCoSpawnChildSharesItsParentsContextAiolocalsCoSpawnCopies) {
  asio::io_context io;
  int after_plain = 0, after_copy = 0;
  auto body = [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto child = []() -> awaitable<void> {
      who.set(99);
      co_return;
    };
    who.set(1);
    co_await asio::co_spawn(ex, child(), use_awaitable);
    after_plain = who.get();
    who.set(1);
    co_await aiolocals::co_spawn(ex, child(), use_awaitable);
    after_copy = who.get();
  };
  aiolocals::co_spawn(io, body(), asio::detached);
  io.run();
  EXPECT_EQ(after_plain, 99);
  EXPECT_EQ(after_copy, 1);
}

// --- 3. awaitable operators and parallel groups ----------------------------

// On main before the fix, with Asio's operators: the winner's write stayed
// in the parent and each `&&` branch read the other's (200 of 200).
struct branch_counts {
  std::atomic<int> parent_kept{0}, branches_right{0}, losers_cancelled{0}, losers_saw_parent{0};
};

// The outer coroutines are captureless (a temporary lambda's captures would
// dangle once it suspends); the branches are locals of their frames.
awaitable<void> timeout_idiom(int id, branch_counts& counts) {
  using namespace aiolocals::awaitable_operators;
  who.set(id);
  auto op = [&]() -> awaitable<int> {
    who.set(-id);
    co_await wait(1ms);
    counts.branches_right += who.get() == -id;
    co_return id;
  };
  auto timeout = [&]() -> awaitable<void> {
    counts.losers_saw_parent += who.get() == id;
    who.set(-1000);
    try {
      co_await wait(1h);
    } catch (const boost::system::system_error& e) {
      counts.losers_cancelled += e.code() == asio::error::operation_aborted;
    }
  };
  auto result = co_await (op() || timeout());
  counts.parent_kept += result.index() == 0 && std::get<0>(result) == id && who.get() == id;
}

// On main before the fix, with Asio's operators: the winner's write stayed
// in the parent and each `&&` branch read the other's (200 of 200).
TEST(Pitfalls, OrOperatorTimeoutIdiomKeepsEachBranchInItsOwnCopy) {
  asio::io_context io(2);
  branch_counts counts;
  for (int id = 1; id <= 200; ++id)
    aiolocals::co_spawn(io, timeout_idiom(id, counts), asio::detached);
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(counts.parent_kept, 200);
  EXPECT_EQ(counts.branches_right, 200);
  EXPECT_EQ(counts.losers_cancelled, 200);
  EXPECT_EQ(counts.losers_saw_parent, 200);
}

awaitable<void> both_branches(int id, branch_counts& counts) {
  using namespace aiolocals::awaitable_operators;
  who.set(id);
  auto branch = [&](int mine) -> awaitable<int> {
    counts.branches_right += who.get() == id;  // starts with the parent's value
    who.set(mine);
    co_await wait(1ms);
    counts.branches_right += who.get() == mine;
    co_return mine;
  };
  auto [a, b] = co_await (branch(id * 10) && branch(id * 10 + 1));
  counts.parent_kept += a == id * 10 && b == id * 10 + 1 && who.get() == id;
}

TEST(Pitfalls, AndOperatorBranchesNeverSeeEachOthersWrites) {
  asio::io_context io(2);
  branch_counts counts;
  for (int id = 1; id <= 200; ++id)
    aiolocals::co_spawn(io, both_branches(id, counts), asio::detached);
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(counts.parent_kept, 200);
  EXPECT_EQ(counts.branches_right, 800);
}

TEST(Pitfalls, AndOperatorPropagatesABranchExceptionAndCancelsTheOther) {
  using namespace aiolocals::awaitable_operators;
  asio::io_context io;
  bool caught = false, sibling_cancelled = false, parent_kept = false;
  auto body = [&]() -> awaitable<void> {
    who.set(5);
    auto failing = []() -> awaitable<void> {
      who.set(6);
      co_await wait(1ms);
      throw std::runtime_error("branch failed");
    };
    auto sibling = [&]() -> awaitable<void> {
      try {
        co_await wait(1h);
      } catch (const boost::system::system_error&) {
        sibling_cancelled = true;
      }
    };
    try {
      co_await (failing() && sibling());
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "branch failed";
    }
    parent_kept = who.get() == 5;
  };
  aiolocals::co_spawn(io, body(), asio::detached);
  io.run();
  EXPECT_TRUE(caught);
  EXPECT_TRUE(sibling_cancelled);
  EXPECT_TRUE(parent_kept);
}

TEST(Pitfalls, ParallelGroupOfAiolocalsCoSpawnsGivesEachItsOwnCopy) {
  asio::io_context io(2);
  std::vector<int> results;
  bool parent_kept = false;
  auto body = [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    who.set(1);
    auto branch = [](int mine) -> awaitable<int> {
      const int inherited = who.get();
      who.set(mine);
      co_await wait(1ms);
      co_return who.get() + inherited * 1000;
    };
    auto [order, e1, r1, e2, r2, e3, r3] =
        co_await asio::experimental::make_parallel_group(
            aiolocals::co_spawn(ex, branch(2), asio::deferred),
            aiolocals::co_spawn(ex, branch(3), asio::deferred),
            aiolocals::co_spawn(ex, branch(4), asio::deferred))
            .async_wait(asio::experimental::wait_for_all(), use_awaitable);
    results = {r1, r2, r3};
    parent_kept = who.get() == 1;
  };
  aiolocals::co_spawn(io, body(), asio::detached);
  EXPECT_EQ(run_counting_errors(io, 2, "-"), 0);
  EXPECT_EQ(results, (std::vector<int>{1002, 1003, 1004}));
  EXPECT_TRUE(parent_kept);
}

// --- 6. peeling any adapter of ours ---------------------------------------

// On main before the fix: a child of a task on a thread_pool got a second
// adapter stacked on the parent's, entered the parent's context too and was
// serialised with it (here: it could never run while the parent waits).
template <class Inner>
awaitable<void> isolated_child(std::atomic<bool>& not_stacked, std::atomic<bool>& isolated,
                               std::promise<void>& ran) {
  auto mine = co_await asio::this_coro::executor;
  // Peeled and re-wrapped: the same adapter type as the parent's.
  not_stacked = mine.template target<aiolocals::context_executor<Inner>>() != nullptr;
  isolated = who.get() == 1;
  who.set(2);
  ran.set_value();
}

template <class Inner, class MakeExecutor>
void child_runs_beside_its_parent(MakeExecutor make_executor) {
  asio::thread_pool pool(2);
  std::promise<void> child_ran;
  std::atomic<bool> parent_saw_child{false}, child_isolated{false}, not_stacked{false};
  auto body = [&]() -> awaitable<void> {
    who.set(1);
    auto ex = co_await asio::this_coro::executor;
    aiolocals::co_spawn(ex, isolated_child<Inner>(not_stacked, child_isolated, child_ran),
                        asio::detached);
    // Holds the parent's context entered while waiting for the child.
    parent_saw_child = child_ran.get_future().wait_for(20s) == std::future_status::ready;
    EXPECT_EQ(who.get(), 1);
  };
  aiolocals::co_spawn(make_executor(pool), body(), asio::detached);
  pool.join();
  EXPECT_TRUE(parent_saw_child);
  EXPECT_TRUE(child_isolated);
  EXPECT_TRUE(not_stacked);
}

TEST(Pitfalls, ChildOfATaskOnAThreadPoolIsNotSerialisedWithItsParent) {
  child_runs_beside_its_parent<asio::thread_pool::executor_type>(
      [](asio::thread_pool& pool) { return pool.get_executor(); });
}

TEST(Pitfalls, ChildOfATaskOnAnyExecutorOverAThreadPoolIsNotSerialisedWithItsParent) {
  child_runs_beside_its_parent<asio::any_io_executor>(
      [](asio::thread_pool& pool) { return asio::any_io_executor(pool.get_executor()); });
}

TEST(Pitfalls, ChildOfATaskOnAStrandOverAThreadPoolGetsItsOwnStrandlessContext) {
  // The parent's strand is kept for the child (the user chose it), and the
  // child's context is its own: it runs after the parent's resumption.
  asio::thread_pool pool(2);
  int child_saw = 0, parent_after = 0;
  auto strand = asio::make_strand(pool);
  auto body = [&]() -> awaitable<void> {
    who.set(1);
    auto ex = co_await asio::this_coro::executor;
    EXPECT_NE((ex.target<aiolocals::context_executor<decltype(strand)>>()), nullptr);
    co_await aiolocals::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          auto mine = co_await asio::this_coro::executor;
          auto* adapter = mine.target<aiolocals::context_executor<decltype(strand)>>();
          EXPECT_NE(adapter, nullptr);  // peeled and re-wrapped, not stacked
          child_saw = who.get();
          who.set(2);
          co_return;
        }(),
        use_awaitable);
    parent_after = who.get();
  };
  aiolocals::co_spawn(strand, body(), asio::detached);
  pool.join();
  EXPECT_EQ(child_saw, 1);
  EXPECT_EQ(parent_after, 1);
}

TEST(Pitfalls, AdapterOverAnyExecutorHoldingAThreadPoolIsPeeled) {
  asio::thread_pool pool(2);
  asio::any_io_executor erased = pool.get_executor();
  aiolocals::context parent_ctx;
  asio::any_io_executor parent = aiolocals::context_executor(erased, parent_ctx);
  aiolocals::context child_ctx;
  auto child = aiolocals::detail::with_context(parent, child_ctx);
  auto* adapter = child.target<aiolocals::context_executor<asio::any_io_executor>>();
  ASSERT_NE(adapter, nullptr);
  EXPECT_TRUE(adapter->get_context() == child_ctx);
  EXPECT_NE(adapter->get_inner_executor().target<asio::thread_pool::executor_type>(), nullptr);
  pool.join();
}

// --- 7. the executor contract ----------------------------------------------

TEST(Pitfalls, AdapterRefusesBlockingAlwaysAndReportsPossibly) {
  asio::thread_pool pool(1);
  auto always = asio::require(pool.get_executor(), asio::execution::blocking.always);
  ASSERT_EQ(asio::query(always, asio::execution::blocking), asio::execution::blocking.always);
  aiolocals::context ctx;
  aiolocals::context_executor ex(always, ctx);
  static_assert(!asio::can_require<decltype(ex), asio::execution::blocking_t::always_t>::value);
  static_assert(asio::can_require<decltype(ex), asio::execution::blocking_t::never_t>::value);
  EXPECT_EQ(asio::query(ex, asio::execution::blocking), asio::execution::blocking.possibly);
  auto never = asio::require(ex, asio::execution::blocking.never);
  EXPECT_EQ(asio::query(never, asio::execution::blocking), asio::execution::blocking.never);
  // Functions still run, inside the context.
  std::promise<int> seen;
  ctx.run([] { who.set(8); });
  asio::execution::execute(ex, [&] { seen.set_value(who.get()); });
  EXPECT_EQ(seen.get_future().get(), 8);
}

}  // namespace
