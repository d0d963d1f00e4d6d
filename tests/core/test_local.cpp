// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/local.hpp: set/get/reset/scoped, defaults, errors,
// tokens and value lifetimes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "aiolocals/local.hpp"

// Counts this thread's allocations, for the allocation-free `set` test.
// (GCC flags free() on memory from operator new, not knowing that these
// replacements pair them with malloc.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local std::size_t allocations = 0;
thread_local std::size_t allocated_bytes = 0;
}  // namespace
void* operator new(std::size_t size) {
  ++allocations;
  allocated_bytes += size;
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace {

aiolocals::local<std::string> user{"user"};
aiolocals::local<std::string> role{"role"};  // same type as `user`: kept apart
aiolocals::local<int> retries{"retries", 3};

TEST(Local, UnsetWithoutDefaultThrowsLookupErrorNamingTheLocal) {
  aiolocals::scope fresh;
  EXPECT_EQ(user.find(), nullptr);
  EXPECT_FALSE(user.is_set());
  try {
    (void)user.get();
    FAIL() << "get() on an unset local must throw";
  } catch (const aiolocals::lookup_error& error) {
    EXPECT_NE(std::string(error.what()).find("'user'"), std::string::npos) << error.what();
  }
}

TEST(Local, DefaultIsReturnedUntilSetAndDoesNotCountAsSet) {
  aiolocals::scope fresh;
  EXPECT_EQ(retries.get(), 3);
  EXPECT_FALSE(retries.is_set());
  retries.set(5);
  EXPECT_EQ(retries.get(), 5);
  EXPECT_TRUE(retries.is_set());
}

TEST(Local, SetGetAndResetRestoresThePreviousValue) {
  aiolocals::scope fresh;
  auto first = user.set("alice");
  EXPECT_EQ(first.old_value(), nullptr);
  auto second = user.set("bob");
  ASSERT_NE(second.old_value(), nullptr);
  EXPECT_EQ(*second.old_value(), "alice");
  EXPECT_EQ(user.get(), "bob");
  user.reset(std::move(second));
  EXPECT_EQ(user.get(), "alice");
  user.reset(std::move(first));
  EXPECT_FALSE(user.is_set());
}

TEST(Local, SettingAgainAllocatesNothingOnceTheOldValueIsFreed) {
  aiolocals::scope fresh;
  retries.set(1);
  retries.set(2);  // the table exists and a node's memory is spare now
  const std::size_t before = allocations;
  for (int i = 0; i < 100; ++i) retries.set(i);
  for (int i = 0; i < 100; ++i) auto guard = retries.scoped(i);
  EXPECT_EQ(allocations, before);
  EXPECT_EQ(retries.get(), 99);
}

TEST(Local, TwoLocalsOfTheSameTypeAreKeptApart) {
  aiolocals::scope fresh;
  user.set("alice");
  role.set("admin");
  EXPECT_EQ(user.get(), "alice");
  EXPECT_EQ(role.get(), "admin");
  user.set("bob");
  EXPECT_EQ(role.get(), "admin");
}

TEST(Local, ScopedSetsForTheBlockOnly) {
  aiolocals::scope fresh;
  user.set("outer");
  {
    auto guard = user.scoped("inner");
    EXPECT_EQ(user.get(), "inner");
    {
      auto deeper = user.scoped("deepest");
      EXPECT_EQ(user.get(), "deepest");
    }
    EXPECT_EQ(user.get(), "inner");
  }
  EXPECT_EQ(user.get(), "outer");
}

TEST(Local, ScopedRestoresOnException) {
  aiolocals::scope fresh;
  user.set("outer");
  EXPECT_THROW(
      {
        auto guard = user.scoped("inner");
        throw std::runtime_error("boom");
      },
      std::runtime_error);
  EXPECT_EQ(user.get(), "outer");
}

TEST(Local, TokenIsSingleUseAndBoundToItsLocalAndContext) {
  aiolocals::scope fresh;
  auto token = user.set("a");
  auto role_token = role.set("r");
  EXPECT_THROW(user.reset(std::move(role_token)), std::invalid_argument);
  user.reset(std::move(token));
  EXPECT_THROW(user.reset(std::move(token)), std::logic_error);

  auto outer_token = user.set("b");
  aiolocals::context other;
  other.run([&] { EXPECT_THROW(user.reset(std::move(outer_token)), std::invalid_argument); });
  EXPECT_EQ(user.get(), "b");
}

TEST(Local, ReturnedReferenceStaysValidWhileTheValueIsCurrent) {
  aiolocals::scope fresh;
  user.set(std::string(100, 'x'));  // heap-allocated string
  const std::string& value = user.get();
  role.set("unrelated write");
  EXPECT_EQ(value, std::string(100, 'x'));
}

struct counted {
  static inline int alive = 0;
  int value;
  explicit counted(int v) : value(v) { ++alive; }
  counted(const counted& other) : value(other.value) { ++alive; }
  counted(counted&& other) noexcept : value(other.value) { ++alive; }
  ~counted() { --alive; }
};
aiolocals::local<counted> counter{"counter"};

TEST(Local, ValuesAreDestroyedWhenNoContextHoldsThem) {
  ASSERT_EQ(counted::alive, 0);
  {
    aiolocals::scope fresh;
    counter.emplace(1);
    counter.emplace(2);  // token dropped: 1 is freed with it
    EXPECT_EQ(counted::alive, 1);
    {
      aiolocals::context snapshot = aiolocals::context::current().copy();
      counter.emplace(3);  // the copy still holds 2
      EXPECT_EQ(counted::alive, 2);
      EXPECT_EQ(snapshot.find(counter)->value, 2);
    }
    EXPECT_EQ(counted::alive, 1);
    EXPECT_EQ(counter.get().value, 3);
  }
  EXPECT_EQ(counted::alive, 0);
}

TEST(Local, SharedPtrValuesWork) {
  aiolocals::local<std::shared_ptr<int>> shared{"shared"};
  aiolocals::scope fresh;
  shared.set(std::make_shared<int>(7));
  EXPECT_EQ(*shared.get(), 7);
}

TEST(Local, MoveOnlyValuesWork) {
  aiolocals::local<std::unique_ptr<int>> owned{"owned"};
  aiolocals::scope fresh;
  owned.set(std::make_unique<int>(7));
  owned.emplace(new int(8));
  EXPECT_EQ(*owned.get(), 8);
  aiolocals::context copy = aiolocals::context::current().copy();  // shares the node
  EXPECT_EQ(**copy.find(owned), 8);
}

// On main before the fix: every table was sized to every local ever made, so
// after 100,000 locals were created, one copy + set cloned 800 KB.
TEST(Local, LocalsMadeAtRunTimeCostNothingWhereTheyAreNotSet) {
  {
    std::vector<std::unique_ptr<aiolocals::local<int>>> gone;
    for (int i = 0; i < 100000; ++i)
      gone.push_back(std::make_unique<aiolocals::local<int>>("gone"));
  }
  std::vector<std::unique_ptr<aiolocals::local<int>>> unset;
  for (int i = 0; i < 100000; ++i)
    unset.push_back(std::make_unique<aiolocals::local<int>>("unset"));
  aiolocals::local<int> measured{"measured"};  // made last: the newest key
  aiolocals::scope fresh;
  measured.set(1);
  const std::size_t before = allocated_bytes;
  aiolocals::context copy = aiolocals::context::current().copy();
  copy.run([&] { measured.set(2); });
  // A context, a table with room for two values, one node.
  EXPECT_LT(allocated_bytes - before, 256u);
  EXPECT_EQ(measured.get(), 1);
  EXPECT_EQ(*copy.find(measured), 2);
  EXPECT_FALSE(unset.back()->is_set());
}

TEST(Local, ADestroyedLocalsValueIsNeverReadByALaterLocal) {
  aiolocals::scope fresh;
  {
    aiolocals::local<std::string> old{"old"};
    old.set("left behind in this context");
  }
  for (int i = 0; i < 1000; ++i) {
    aiolocals::local<int> later{"later"};
    EXPECT_FALSE(later.is_set());
    later.set(i);
    EXPECT_EQ(later.get(), i);
  }
}

TEST(Local, ThousandsOfLocalsInOneContextKeepTheirValuesThroughCopies) {
  std::vector<std::unique_ptr<aiolocals::local<int>>> many;
  for (int i = 0; i < 5000; ++i) many.push_back(std::make_unique<aiolocals::local<int>>("many"));
  aiolocals::scope fresh;
  for (int i = 0; i < 5000; ++i) many[i]->set(i);
  aiolocals::context copy = aiolocals::context::current().copy();
  copy.run([&] {
    for (int i = 0; i < 5000; i += 2) many[i]->set(-i);
    for (int i = 1; i < 5000; i += 4) many[i]->reset(many[i]->set(0));  // set, then undo
  });
  int right = 0;
  for (int i = 0; i < 5000; ++i) {
    right += many[i]->get() == i;
    const int* in_copy = copy.find(*many[i]);
    right += in_copy != nullptr && *in_copy == (i % 2 == 0 ? -i : i);
  }
  EXPECT_EQ(right, 10000);
}

}  // namespace
