// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/context.hpp: copies, run, scope, bind, threads and
// double-entry detection.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/local.hpp"

namespace {

aiolocals::local<std::string> name{"name"};
aiolocals::local<int> number{"number"};

TEST(Context, CopyIsIsolatedBothWays) {
  aiolocals::scope fresh;
  name.set("parent");
  aiolocals::context child = aiolocals::context::current().copy();
  name.set("parent-later");
  child.run([] {
    EXPECT_EQ(name.get(), "parent");  // the value at copy time
    name.set("child");
    number.set(1);
  });
  EXPECT_EQ(name.get(), "parent-later");
  EXPECT_FALSE(number.is_set());
  EXPECT_EQ(*child.find(name), "child");  // writes stay in the child
  EXPECT_EQ(*child.find(number), 1);
}

// A not-inherited local stays in its task: copy() keeps it (the same
// task, later), child() and bind(f) leave it out, and a child built from a
// table that never held one shares the table (the O(1) path).
aiolocals::local<std::string> transaction{"transaction", aiolocals::not_inherited};
aiolocals::local<int> budget{"budget", 100, aiolocals::not_inherited};

TEST(Context, ChildLeavesNotInheritedLocalsBehindCopyKeepsThem) {
  EXPECT_TRUE(name.inherited());
  EXPECT_FALSE(transaction.inherited());
  aiolocals::scope task;
  name.set("alice");
  // Before any not-inherited value: child() is a plain copy.
  EXPECT_EQ(aiolocals::context::current().child().find(name), name.find());
  transaction.set("txn-1");
  budget.set(7);
  number.set(3);
  const aiolocals::context copy = aiolocals::context::current().copy();
  const aiolocals::context child = aiolocals::context::current().child();
  EXPECT_EQ(*copy.find(transaction), "txn-1");
  EXPECT_EQ(*copy.find(budget), 7);
  EXPECT_EQ(child.find(transaction), nullptr);
  EXPECT_EQ(child.find(budget), nullptr);
  EXPECT_EQ(*child.find(name), "alice");
  EXPECT_EQ(*child.find(number), 3);
  child.run([] {
    EXPECT_EQ(transaction.find(), nullptr);
    EXPECT_EQ(budget.get(), 100);  // the default, not the parent's value
    transaction.set("child's own");
    // A grandchild leaves the child's own not-inherited value behind too.
    EXPECT_EQ(aiolocals::context::current().child().find(transaction), nullptr);
  });
  EXPECT_EQ(transaction.get(), "txn-1");  // the child's write never flows back
  std::string in_bound = "not run";
  aiolocals::bind([&] { in_bound = transaction.find() ? *transaction.find() : "unset"; })();
  EXPECT_EQ(in_bound, "unset");
  aiolocals::bind(aiolocals::context::current().copy(), [&] { in_bound = transaction.get(); })();
  EXPECT_EQ(in_bound, "txn-1");
}

TEST(Context, ChildOfManyValuesKeepsEveryInheritedOne) {
  std::vector<std::unique_ptr<aiolocals::local<int>>> inherited, task_only;
  for (int i = 0; i < 20; ++i) {
    inherited.push_back(std::make_unique<aiolocals::local<int>>("in" + std::to_string(i)));
    task_only.push_back(std::make_unique<aiolocals::local<int>>("only" + std::to_string(i),
                                                                aiolocals::not_inherited));
  }
  aiolocals::scope task;
  for (int i = 0; i < 20; ++i) {
    inherited[i]->set(i);
    task_only[i]->set(-i);
  }
  task_only[3]->set(33);  // overwritten, still left behind
  const aiolocals::context child = aiolocals::context::current().child();
  for (int i = 0; i < 20; ++i) {
    ASSERT_NE(child.find(*inherited[i]), nullptr) << i;
    EXPECT_EQ(*child.find(*inherited[i]), i);
    EXPECT_EQ(child.find(*task_only[i]), nullptr) << i;
  }
  // Writes in the child to its (smaller) table still work.
  child.run([&] {
    task_only[0]->set(5);
    inherited[0]->set(50);
    EXPECT_EQ(task_only[0]->get(), 5);
    EXPECT_EQ(inherited[19]->get(), 19);
  });
  EXPECT_EQ(inherited[0]->get(), 0);
}

TEST(Context, CurrentIsTheSameObjectNotACopy) {
  aiolocals::scope fresh;
  aiolocals::context here = aiolocals::context::current();
  name.set("seen");
  ASSERT_NE(here.find(name), nullptr);
  EXPECT_EQ(*here.find(name), "seen");
  EXPECT_TRUE(here == aiolocals::context::current());
  EXPECT_FALSE(here == here.copy());
}

TEST(Context, FreshScopeStartsEmptyAndRestoresTheOuterContext) {
  aiolocals::scope outer;
  name.set("outer");
  {
    aiolocals::scope inner;
    EXPECT_FALSE(name.is_set());
    name.set("inner");
  }
  EXPECT_EQ(name.get(), "outer");
}

TEST(Context, RunReturnsValuesAndForwardsArguments) {
  aiolocals::context ctx;
  int result = ctx.run([](int a, int b) { return a + b; }, 2, 3);
  EXPECT_EQ(result, 5);
  auto moved = ctx.run([](std::unique_ptr<int> p) { return p; }, std::make_unique<int>(4));
  EXPECT_EQ(*moved, 4);
}

TEST(Context, RunRestoresOnException) {
  aiolocals::scope outer;
  name.set("outer");
  aiolocals::context other;
  EXPECT_THROW(other.run([] {
    name.set("inside");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(name.get(), "outer");
  EXPECT_EQ(*other.find(name), "inside");
}

TEST(Context, NestedRunOfTheCurrentContextIsAllowed) {
  aiolocals::context ctx;
  ctx.run([&] {
    name.set("a");
    ctx.run([] { name.set("b"); });
    EXPECT_EQ(name.get(), "b");
  });
  EXPECT_EQ(*ctx.find(name), "b");
}

TEST(Context, CopyOfManyValuesIsIndependent) {
  std::vector<std::unique_ptr<aiolocals::local<int>>> many;
  for (int i = 0; i < 64; ++i) {
    many.push_back(std::make_unique<aiolocals::local<int>>("many"));
  }
  aiolocals::scope fresh;
  for (int i = 0; i < 64; ++i) many[i]->set(i);
  aiolocals::context snapshot = aiolocals::context::current().copy();
  for (int i = 0; i < 64; ++i) many[i]->set(-i);
  snapshot.run([&] {
    for (int i = 0; i < 64; ++i) EXPECT_EQ(many[i]->get(), i);
  });
  for (int i = 0; i < 64; ++i) EXPECT_EQ(many[i]->get(), -i);
}

TEST(Context, EachThreadStartsInItsOwnEmptyRoot) {
  name.set("main-root");
  bool other_saw_value = true;
  std::thread([&] {
    other_saw_value = name.is_set();
    name.set("other-root");
  }).join();
  EXPECT_FALSE(other_saw_value);
  EXPECT_EQ(name.get(), "main-root");
}

TEST(Context, DoubleEntryOnTwoThreadsThrows) {
  aiolocals::context shared;
  std::promise<void> entered;
  std::promise<void> release;
  std::thread holder([&] {
    shared.run([&] {
      entered.set_value();
      release.get_future().wait();
    });
  });
  entered.get_future().wait();
  EXPECT_THROW(shared.run([] {}), aiolocals::context_error);
  bool refused = false;
  try {
    aiolocals::scope guard(shared);
  } catch (const aiolocals::context_error& error) {
    refused = std::string(error.what()).find("another thread") != std::string::npos;
  }
  EXPECT_TRUE(refused) << "a scope entering a context held by another thread must throw";
  release.set_value();
  holder.join();
  EXPECT_NO_THROW(shared.run([] {}));  // free again once the holder left
}

TEST(Context, EnteringAnotherThreadsRootThrows) {
  std::promise<aiolocals::context> root_promise;
  std::promise<void> done;
  std::thread owner([&] {
    root_promise.set_value(aiolocals::context::current());
    done.get_future().wait();
  });
  aiolocals::context root = root_promise.get_future().get();
  EXPECT_THROW(root.run([] {}), aiolocals::context_error);
  done.set_value();
  owner.join();
}

TEST(Bind, RunsInACopyTakenAtBindTime) {
  aiolocals::scope fresh;
  name.set("at-bind");
  auto task = aiolocals::bind([] {
    std::string seen = name.get();
    name.set("written-by-task");
    return seen;
  });
  name.set("after-bind");
  std::string seen;
  std::thread([&] { seen = task(); }).join();
  EXPECT_EQ(seen, "at-bind");
  EXPECT_EQ(name.get(), "after-bind");
}

TEST(Bind, ForwardsArgumentsMoveOnlyCallablesAndNoexcept) {
  auto owned = std::make_unique<int>(10);
  auto task = aiolocals::bind([p = std::move(owned)](int add) noexcept { return *p + add; });
  static_assert(noexcept(task(1)));
  EXPECT_EQ(task(5), 15);
  auto throwing = aiolocals::bind([](int) { return 0; });
  static_assert(!noexcept(throwing(1)));
  auto moved_task = std::move(task);
  EXPECT_EQ(moved_task(1), 11);
}

// A minimal pool: N workers draining one queue, as an application would have.
class thread_pool {
 public:
  explicit thread_pool(int threads) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  ~thread_pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

TEST(Bind, ManyInterleavedTasksOnAPoolEachSeeTheirOwnValues) {
  constexpr int tasks = 2000;
  std::atomic<int> mismatches{0};
  std::atomic<int> done{0};
  std::promise<void> all_done;
  {
    thread_pool pool(3);
    for (int i = 0; i < tasks; ++i) {
      aiolocals::scope task_scope;
      number.set(i);
      name.set("task-" + std::to_string(i));
      // Each job re-submits itself once, so values cross threads twice.
      pool.submit(aiolocals::bind([&, i] {
        if (number.get() != i) ++mismatches;
        number.set(i + tasks);  // a write inside the job's own copy
        pool.submit(aiolocals::bind([&, i] {
          if (number.get() != i + tasks) ++mismatches;
          if (name.get() != "task-" + std::to_string(i)) ++mismatches;
          if (++done == tasks) all_done.set_value();
        }));
      }));
    }
    all_done.get_future().wait();
  }
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(done.load(), tasks);
  EXPECT_FALSE(number.is_set());  // nothing leaked into the test's context
}

TEST(Bind, PoolThreadsAreLeftInTheirRootContext) {
  std::promise<bool> saw_value;
  std::promise<bool> saw_value_after;
  {
    thread_pool pool(1);
    aiolocals::scope task_scope;
    number.set(99);
    pool.submit(aiolocals::bind([&] { saw_value.set_value(number.is_set()); }));
    pool.submit([&] { saw_value_after.set_value(number.is_set()); });
    EXPECT_TRUE(saw_value.get_future().get());
    EXPECT_FALSE(saw_value_after.get_future().get());
  }
}

}  // namespace
