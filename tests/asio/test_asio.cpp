// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/asio.hpp: every resumption of a task sees its own
// context, on a multi-threaded io_context, whatever it awaited.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/asio/awaitable_operators.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/log/fields.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

namespace {

aiolocals::local<int> task_id{"task_id"};

// The context each io thread had before running any handler.
thread_local std::optional<aiolocals::context> thread_root;

// Runs `io` on `threads` threads, each remembering its root context.
void run_on_threads(asio::io_context& io, int threads) {
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&io] {
      thread_root = aiolocals::context::current();
      io.run();
      thread_root.reset();
    });
  }
  for (auto& thread : pool) thread.join();
}

struct counters {
  std::atomic<int> checks{0};
  std::atomic<int> wrong_value{0};
  std::atomic<int> root_checks{0};
  std::atomic<int> root_polluted{0};
  std::atomic<int> finished{0};
};

awaitable<int> nested_read(int depth) {
  if (depth > 0) co_await asio::post(use_awaitable);
  if (depth == 0) co_return task_id.get();
  co_return co_await nested_read(depth - 1);
}

// One echo connection per client; reads a 4-byte id and writes it back.
awaitable<void> echo_server(asio::ip::tcp::acceptor& acceptor, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto socket = co_await acceptor.async_accept(use_awaitable);
    asio::co_spawn(
        acceptor.get_executor(),
        [](asio::ip::tcp::socket s) -> awaitable<void> {
          std::array<char, 4> buffer{};
          co_await asio::async_read(s, asio::buffer(buffer), use_awaitable);
          co_await asio::async_write(s, asio::buffer(buffer), use_awaitable);
        }(std::move(socket)),
        asio::detached);
  }
}

awaitable<void> interleaving_task(int id, asio::ip::tcp::endpoint server,
                                  asio::strand<asio::io_context::executor_type> strand,
                                  counters& count) {
  auto check = [&] {
    ++count.checks;
    if (task_id.get() != id) ++count.wrong_value;
  };
  // A plain handler on the bare io_context executor between resumptions:
  // it must find the thread's root context, untouched.
  auto check_root_between = [&](asio::io_context::executor_type bare) {
    asio::post(bare, [&count] {
      ++count.root_checks;
      if (task_id.is_set() || !thread_root || !(aiolocals::context::current() == *thread_root)) {
        ++count.root_polluted;
      }
    });
  };
  auto ex = co_await asio::this_coro::executor;
  auto& io = static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));

  task_id.set(id);
  check();
  asio::steady_timer timer(ex);
  for (int round = 0; round < 3; ++round) {
    timer.expires_after(std::chrono::microseconds(id % 7 * 50));
    co_await timer.async_wait(use_awaitable);
    check();
    check_root_between(io.get_executor());
    co_await asio::post(use_awaitable);
    check();
    co_await asio::dispatch(use_awaitable);
    check();
    co_await asio::defer(use_awaitable);
    check();
    co_await asio::post(strand, use_awaitable);
    check();
    if (co_await nested_read(3) != id) ++count.wrong_value;
    check();
  }
  // A loopback round trip.
  asio::ip::tcp::socket socket(ex);
  co_await socket.async_connect(server, use_awaitable);
  check();
  std::array<char, 4> out{}, in{};
  std::memcpy(out.data(), &id, 4);
  co_await asio::async_write(socket, asio::buffer(out), use_awaitable);
  check();
  co_await asio::async_read(socket, asio::buffer(in), use_awaitable);
  check();
  if (in != out) ++count.wrong_value;
  ++count.finished;
}

void run_interleaving(int threads, int tasks) {
  asio::io_context io(threads);
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  counters count;
  asio::co_spawn(io, echo_server(acceptor, tasks), asio::detached);
  auto strand = asio::make_strand(io.get_executor());
  for (int id = 0; id < tasks; ++id) {
    aiolocals::co_spawn(io, interleaving_task(id, acceptor.local_endpoint(), strand, count),
                        asio::detached);
  }
  run_on_threads(io, threads);
  EXPECT_EQ(count.finished.load(), tasks);
  EXPECT_EQ(count.checks.load(), tasks * (1 + 3 * 6 + 3));
  EXPECT_EQ(count.wrong_value.load(), 0);
  EXPECT_EQ(count.root_checks.load(), tasks * 3);
  EXPECT_EQ(count.root_polluted.load(), 0);
  EXPECT_FALSE(task_id.is_set());
}

TEST(Asio, EveryResumptionSeesItsOwnValueOnTwoThreads) { run_interleaving(2, 1000); }
TEST(Asio, EveryResumptionSeesItsOwnValueOnFourThreads) { run_interleaving(4, 1000); }

TEST(Asio, TaskSpawnedOnAStrandKeepsItsContext) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  std::atomic<int> wrong{0};
  // Coroutine lambdas take what they use as parameters (copied into the
  // frame): a capture would dangle once the temporary lambda is gone.
  auto task = [](int id, std::atomic<int>& wrong) -> awaitable<void> {
    task_id.set(id);
    for (int i = 0; i < 3; ++i) {
      co_await asio::post(use_awaitable);
      if (task_id.get() != id) ++wrong;
    }
  };
  for (int id = 0; id < 200; ++id) {
    aiolocals::co_spawn(strand, task(id, wrong), asio::detached);
  }
  run_on_threads(io, 2);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Asio, CoSpawnGivesTheChildACopy) {
  asio::io_context io;
  std::atomic<int> child_saw{-1}, parent_saw_after{-1};
  auto child = [&]() -> awaitable<void> {
    child_saw = task_id.get();
    task_id.set(2);  // never reaches the parent
    co_return;
  };
  auto parent = [&]() -> awaitable<void> {
    task_id.set(1);
    auto ex = co_await asio::this_coro::executor;
    auto done = aiolocals::co_spawn(ex, child(), asio::use_awaitable);
    task_id.set(3);  // after the spawn: not seen by the child
    co_await std::move(done);
    parent_saw_after = task_id.get();
  };
  aiolocals::co_spawn(io, parent(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(child_saw.load(), 1);
  EXPECT_EQ(parent_saw_after.load(), 3);
}

// Log fields are a local: set mid-task after a suspension, a child spawned
// later inherits them, its own additions never reach the parent, and the
// awaitable operators' branches each get a copy.
TEST(Asio, LogFieldsFollowTheTaskIntoItsChildrenAndNeverBack) {
  using namespace aiolocals::awaitable_operators;
  asio::io_context io;
  std::string child_saw, branch_a, branch_b, parent_after;
  auto text = [] {
    std::string out;
    aiolocals::append_log_fields_text(out, aiolocals::current_log_fields());
    return out;
  };
  auto child = [&]() -> awaitable<void> {
    co_await asio::post(asio::use_awaitable);
    child_saw = text();
    aiolocals::set_log_field("child", true);
  };
  auto branch = [&](std::string& saw, const char* name) -> awaitable<void> {
    aiolocals::set_log_field("branch", name);
    co_await asio::post(asio::use_awaitable);
    saw = text();
  };
  auto parent = [&]() -> awaitable<void> {
    co_await asio::post(asio::use_awaitable);
    aiolocals::set_log_field("tenant", "acme");  // mid-task, after a resumption
    auto ex = co_await asio::this_coro::executor;
    co_await aiolocals::co_spawn(ex, child(), asio::use_awaitable);
    co_await (branch(branch_a, "a") && branch(branch_b, "b"));
    parent_after = text();
  };
  aiolocals::co_spawn(io, parent(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(child_saw, " tenant=acme");
  EXPECT_EQ(branch_a, " tenant=acme branch=a");
  EXPECT_EQ(branch_b, " tenant=acme branch=b");
  EXPECT_EQ(parent_after, " tenant=acme");
}

// A not-inherited local (a transaction, a budget) stays in the task that
// set it: co_spawn'ed children and the && branches start without it; the
// task itself, after any number of resumptions, and its span blocks keep it.
aiolocals::local<std::string> open_transaction{"open_transaction", aiolocals::not_inherited};

TEST(Asio, NotInheritedLocalsReachNoChildButStayInTheirTask) {
  using namespace aiolocals::awaitable_operators;
  asio::io_context io;
  auto seen = [] { return open_transaction.find() ? *open_transaction.find() : "unset"; };
  std::string child_saw, branch_a, branch_b, parent_after, in_block, in_posted, tenant_in_child;
  auto child = [&]() -> awaitable<void> {
    co_await asio::post(asio::use_awaitable);
    child_saw = seen();
    tenant_in_child = std::string(std::get<std::string>(
        *aiolocals::current_log_fields().find("tenant")));
    open_transaction.set("child's");
  };
  auto branch = [&](std::string& saw) -> awaitable<void> {
    co_await asio::post(asio::use_awaitable);
    saw = seen();
  };
  auto parent = [&]() -> awaitable<void> {
    co_await asio::post(asio::use_awaitable);
    aiolocals::set_log_field("tenant", "acme");
    open_transaction.set("txn-7");
    auto ex = co_await asio::this_coro::executor;
    co_await aiolocals::co_spawn(ex, child(), asio::use_awaitable);
    co_await (branch(branch_a) && branch(branch_b));
    asio::post(ex, aiolocals::bind([&] { in_posted = seen(); }));
    auto block = [&]() -> awaitable<void> {
      co_await asio::post(asio::use_awaitable);
      in_block = seen();
    };
    co_await aiolocals::span("step", block());
    parent_after = seen();
  };
  aiolocals::co_spawn(io, parent(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(child_saw, "unset");
  EXPECT_EQ(tenant_in_child, "acme");  // inherited locals still arrive
  EXPECT_EQ(branch_a, "unset");
  EXPECT_EQ(branch_b, "unset");
  EXPECT_EQ(in_posted, "unset");
  EXPECT_EQ(in_block, "txn-7");
  EXPECT_EQ(parent_after, "txn-7");
}

TEST(Asio, CallbackCompletionRunsInTheSpawnersContextNotTheChilds) {
  asio::io_context io;
  std::optional<int> seen_in_callback;
  aiolocals::scope spawner;
  task_id.set(10);
  aiolocals::co_spawn(
      io,
      []() -> awaitable<int> {
        task_id.set(20);
        co_return 5;
      }(),
      [&](std::exception_ptr, int result) {
        EXPECT_EQ(result, 5);
        seen_in_callback = task_id.get();
      });
  io.run();
  ASSERT_TRUE(seen_in_callback.has_value());
  EXPECT_EQ(*seen_in_callback, 10);
}

TEST(Asio, UseFutureReturnsTheResult) {
  asio::io_context io;
  aiolocals::scope spawner;
  task_id.set(7);
  auto future = aiolocals::co_spawn(
      io, []() -> awaitable<int> { co_return task_id.get() * 2; }(), asio::use_future);
  io.run();
  EXPECT_EQ(future.get(), 14);
}

TEST(Asio, WrapAsyncFiresOffACopy) {
  asio::io_context io;
  std::atomic<int> background_saw{-1};
  auto background = [](std::atomic<int>& saw) -> awaitable<void> {
    co_await asio::post(use_awaitable);
    saw = task_id.get();
  };
  auto handler = [&]() -> awaitable<void> {
    task_id.set(42);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    co_await aiolocals::wrap_async(background(background_saw));  // still works, deprecated
#pragma GCC diagnostic pop
    task_id.set(43);
  };
  aiolocals::co_spawn(io, handler(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(background_saw.load(), 42);
}

TEST(Asio, ExceptionsLeaveNoContextInstalled) {
  asio::io_context io;
  std::exception_ptr error;
  aiolocals::co_spawn(
      io,
      []() -> awaitable<void> {
        task_id.set(1);
        co_await asio::post(use_awaitable);
        throw std::runtime_error("boom");
      }(),
      [&](std::exception_ptr e) { error = e; });
  io.run();
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
  EXPECT_FALSE(task_id.is_set());
}

TEST(Asio, CancellationLeavesNoContextInstalled) {
  asio::io_context io;
  asio::cancellation_signal signal;
  std::atomic<bool> cancelled{false};
  auto task = [&]() -> awaitable<void> {
    task_id.set(1);
    asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
    try {
      co_await timer.async_wait(use_awaitable);
    } catch (const boost::system::system_error& e) {
      cancelled = e.code() == asio::error::operation_aborted;
      EXPECT_EQ(task_id.get(), 1);
    }
  };
  aiolocals::co_spawn(io, task(), asio::bind_cancellation_slot(signal.slot(), asio::detached));
  asio::post(io, [&] { signal.emit(asio::cancellation_type::all); });
  io.run();
  EXPECT_TRUE(cancelled.load());
  EXPECT_FALSE(task_id.is_set());
}

TEST(Asio, OrOperatorCancelsTheLoserAndLeavesNoContextInstalled) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  std::atomic<int> winner_saw{-1};
  std::atomic<bool> loser_aborted{false};
  auto task = [&]() -> awaitable<void> {
    task_id.set(5);
    auto ex = co_await asio::this_coro::executor;
    auto fast = [&]() -> awaitable<void> {
      asio::steady_timer t(ex, 1ms);
      co_await t.async_wait(use_awaitable);
      winner_saw = task_id.get();
    };
    auto slow = [&]() -> awaitable<void> {
      asio::steady_timer t(ex, 1h);
      try {
        co_await t.async_wait(use_awaitable);
      } catch (const boost::system::system_error&) {
        loser_aborted = true;
      }
    };
    co_await (fast() || slow());
    EXPECT_EQ(task_id.get(), 5);
  };
  aiolocals::co_spawn(io, task(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(winner_saw.load(), 5);
  EXPECT_TRUE(loser_aborted.load());
  EXPECT_FALSE(task_id.is_set());
}

// Why aiolocals::awaitable_operators exist: the branches Asio's own operators
// spawn share the parent's context; aiolocals::co_spawn(..., use_awaitable)
// per branch (what ours do) gives each a copy.
TEST(Asio, AsiosOwnOperatorBranchesShareTheParentsContextUnlessSpawnedWithACopy) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  int parent_after_plain = 0, parent_after_copied = 0;
  auto task = [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto writer = []() -> awaitable<void> {
      task_id.set(99);
      co_return;
    };
    auto idle = [&]() -> awaitable<void> {
      asio::steady_timer t(ex, 10ms);
      co_await t.async_wait(use_awaitable);
    };
    task_id.set(1);
    co_await (writer() && idle());
    parent_after_plain = task_id.get();
    task_id.set(1);
    co_await (aiolocals::co_spawn(ex, writer(), use_awaitable) && idle());
    parent_after_copied = task_id.get();
  };
  aiolocals::co_spawn(io, task(), asio::detached);
  io.run();
  EXPECT_EQ(parent_after_plain, 99);  // shared: the branch's write shows
  EXPECT_EQ(parent_after_copied, 1);  // copied: isolated
}

// Documented limit: a frame Asio destroys without resuming it (io_context
// destroyed with work pending) is destroyed in the destroying thread's
// context. Its scoped guard then leaves the value alone instead of throwing
// from a destructor, and the destroying thread's own value survives.
TEST(Asio, LimitFrameDestroyedUnresumedLeavesTheDestroyingThreadsContextAlone) {
  aiolocals::scope main_scope;
  task_id.set(1);
  std::atomic<bool> suspended{false};
  auto task = [](std::atomic<bool>& at_timer) -> awaitable<void> {
    auto guard = task_id.scoped(2);
    asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
    at_timer = true;
    co_await timer.async_wait(use_awaitable);
  };
  {
    asio::io_context io;
    aiolocals::co_spawn(io, task(suspended), asio::detached);
    io.poll();  // runs the task until it waits on the timer
    ASSERT_TRUE(suspended.load());
    EXPECT_EQ(task_id.get(), 1);
  }  // the io_context destroys the suspended frame here, on this thread
  EXPECT_EQ(task_id.get(), 1);
}

// Two threads asked to run functions of the same context at once: the second
// is re-posted, so they never overlap and nothing throws.
TEST(Asio, FunctionsOfOneContextNeverOverlap) {
  asio::io_context io;
  aiolocals::context shared;
  aiolocals::context_executor ex(io.get_executor(), shared);
  std::atomic<int> inside{0}, overlaps{0}, runs{0};
  for (int i = 0; i < 2000; ++i) {
    asio::post(ex, [&] {
      if (++inside > 1) ++overlaps;
      for (int spin = 0; spin < 200; ++spin) asm volatile("");
      --inside;
      ++runs;
    });
  }
  run_on_threads(io, 4);
  EXPECT_EQ(runs.load(), 2000);
  EXPECT_EQ(overlaps.load(), 0);
}

// The re-post itself, step by step: a function whose context another thread
// has entered is queued again (not run beside it, not dropped), and runs in
// that context once the other thread has left it.
TEST(ContextExecutor, AFunctionWhoseContextIsEnteredElsewhereRunsAfterItIsLeft) {
  asio::io_context io;
  aiolocals::context ctx;
  ctx.run([] { task_id.set(8); });
  bool ran = false;
  int seen = 0;
  asio::post(aiolocals::context_executor(io.get_executor(), ctx), [&] {
    ran = true;
    seen = task_id.get();
  });
  std::size_t first_round = 0;
  {
    aiolocals::scope here{ctx};  // this thread has ctx entered
    std::thread([&] { first_round = io.run_one(); }).join();
    EXPECT_EQ(first_round, 1u);  // the queued function ran: it re-posted itself
    EXPECT_FALSE(ran);
    EXPECT_FALSE(io.stopped());  // the re-posted function is still queued
  }
  std::thread([&] { io.run(); }).join();
  EXPECT_TRUE(ran);
  EXPECT_EQ(seen, 8);
}

TEST(ContextExecutor, SurvivesPreferRequireAnyIoExecutorAndStrands) {
  asio::io_context io;
  aiolocals::context ctx;
  ctx.run([] { task_id.set(3); });
  aiolocals::context_executor ex(io.get_executor(), ctx);

  std::optional tracked = asio::prefer(ex, asio::execution::outstanding_work.tracked);
  static_assert(
      std::is_same_v<decltype(tracked)::value_type::inner_executor_type,
                     std::decay_t<decltype(asio::prefer(
                         io.get_executor(), asio::execution::outstanding_work.tracked))>>);
  static_assert(asio::execution::is_executor<decltype(ex)>::value);
  static_assert(std::is_same_v<decltype(asio::make_work_guard(ex))::executor_type, decltype(ex)>);
  auto never = asio::require(ex, asio::execution::blocking.never);
  EXPECT_EQ(asio::query(never, asio::execution::blocking), asio::execution::blocking.never);
  EXPECT_EQ(&asio::query(ex, asio::execution::context), &io);
  EXPECT_TRUE(ex == aiolocals::context_executor(io.get_executor(), ctx));
  EXPECT_FALSE(ex == aiolocals::context_executor(io.get_executor(), ctx.copy()));

  asio::any_io_executor erased = ex;
  aiolocals::context_executor on_strand(asio::make_strand(erased), ctx);
  std::vector<int> seen;
  asio::post(*tracked, [&] { seen.push_back(task_id.get()); });
  tracked.reset();  // release the work it counts, or run() never returns
  asio::post(never, [&] { seen.push_back(task_id.get()); });
  asio::post(erased, [&] { seen.push_back(task_id.get()); });
  asio::dispatch(on_strand, [&] { seen.push_back(task_id.get()); });
  io.run();
  EXPECT_EQ(seen, (std::vector<int>{3, 3, 3, 3}));
  EXPECT_FALSE(task_id.is_set());
}

TEST(ContextExecutor, RestoresThePreviousContextWhenTheFunctionThrows) {
  asio::io_context io;
  aiolocals::context ctx;
  asio::post(aiolocals::context_executor(io.get_executor(), ctx), [] {
    task_id.set(1);
    throw std::runtime_error("handler failed");
  });
  EXPECT_THROW(io.run(), std::runtime_error);
  EXPECT_FALSE(task_id.is_set());
  EXPECT_EQ(*ctx.find(task_id), 1);
}

struct tagged_allocator : std::allocator<int> {
  int tag = 0;
  template <class U>
  struct rebind {
    using other = tagged_allocator;
  };
};

TEST(Bind, KeepsAssociatedExecutorAllocatorAndCancellationSlot) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  asio::cancellation_signal signal;
  tagged_allocator allocator;
  allocator.tag = 17;
  auto handler = aiolocals::bind(asio::bind_cancellation_slot(
      signal.slot(), asio::bind_allocator(allocator, asio::bind_executor(strand, [&] {
                                            EXPECT_TRUE(strand.running_in_this_thread());
                                          }))));
  EXPECT_TRUE(asio::get_associated_executor(handler) == strand);
  EXPECT_EQ(asio::get_associated_allocator(handler).tag, 17);
  EXPECT_TRUE(asio::get_associated_cancellation_slot(handler) == signal.slot());

  // And the bound handler really runs on the strand, in its copied context.
  aiolocals::scope scope;
  task_id.set(8);
  std::atomic<int> on_strand{0};
  asio::steady_timer timer(io, 0ms);
  timer.async_wait(asio::bind_executor(strand, aiolocals::bind([&](boost::system::error_code) {
                                         if (strand.running_in_this_thread() && task_id.get() == 8)
                                           ++on_strand;
                                       })));
  task_id.set(9);
  run_on_threads(io, 2);
  EXPECT_EQ(on_strand.load(), 1);
}

TEST(JobContext, IdsAreUniqueVisibleInNestedAwaitsAndAbsentAfter) {
  asio::io_context io;
  std::mutex mutex;
  std::set<std::string> ids;
  std::atomic<int> bad{0};
  constexpr int jobs = 10000;
  auto nested = []() -> awaitable<std::string> {
    co_await asio::post(use_awaitable);
    co_return aiolocals::request.get().id;
  };
  auto task = [&]() -> awaitable<void> {
    task_id.set(1);
    co_await aiolocals::job_context("cleanup", [&]() -> awaitable<void> {
      const aiolocals::request_info& job = aiolocals::request.get();
      if (job.kind != aiolocals::request_kind::job || job.path != "cleanup" ||
          job.id.rfind("cleanup-", 0) != 0 || task_id.is_set()) {
        ++bad;
      }
      if (co_await nested() != job.id) ++bad;
      std::lock_guard lock(mutex);
      ids.insert(job.id);
    }());
    if (aiolocals::request.is_set() || task_id.get() != 1) ++bad;
  };
  for (int i = 0; i < jobs; ++i) aiolocals::co_spawn(io, task(), asio::detached);
  run_on_threads(io, 2);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(jobs));
}

TEST(JobContext, PlainCallableRunsInAFreshJobContext) {
  aiolocals::scope outer;
  task_id.set(4);
  std::string id = aiolocals::job_context("sync-job", [] {
    EXPECT_FALSE(task_id.is_set());
    return aiolocals::request.get().id;
  });
  EXPECT_EQ(id.rfind("sync-job-", 0), 0u);
  EXPECT_EQ(id.size(), std::string("sync-job-").size() + 16);
  EXPECT_FALSE(aiolocals::request.is_set());
  EXPECT_EQ(task_id.get(), 4);
}

}  // namespace
