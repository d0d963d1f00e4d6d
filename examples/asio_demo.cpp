// SPDX-License-Identifier: BSL-1.0
// Task-local values following coroutines across the threads of one
// io_context. Run: build/default/examples/asio_demo
//
// Four "requests" interleave on two threads; every resumption prints the
// thread that resumed it and the request id it sees (always its own). One
// request spawns a child with a copy of its context, and a job runs under
// job_context.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/request.hpp"
#include "pause.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

using example::pause;

namespace {

aiolocals::local<std::string> user{"user", "-"};
std::mutex print_mutex;
std::atomic<int> threads_seen{0};
thread_local const int thread_number = ++threads_seen;  // 1 = main

void say(const char* what) {
  const aiolocals::request_info* request = aiolocals::request.find();
  std::lock_guard lock(print_mutex);
  std::printf("thread %d  request %-12s user %-6s  %s\n", thread_number,
              request ? request->id.c_str() : "-", user.get().c_str(), what);
}

// Counts what the demo shows not holding; main's exit code.
std::atomic<int> surprises{0};
void expect(bool held, const char* what) {
  if (held) return;
  ++surprises;
  std::printf("UNEXPECTED: %s\n", what);
}

asio::awaitable<void> child() {
  say("child: started with a copy of its parent's values");
  expect(user.get() == "alice", "the child did not start with its parent's values");
  user.set("child");
  co_await pause(3ms);
  say("child: wrote user=child in its own copy");
}

asio::awaitable<void> handle(std::string id, std::string who, int steps) {
  aiolocals::request.set({id, "GET", "/demo", aiolocals::request_kind::request});
  user.set(who);
  say("start");
  for (int step = 0; step < steps; ++step) {
    co_await pause(std::chrono::milliseconds(1 + step % 3));
    say(("resumed after timer " + std::to_string(step + 1)).c_str());
    expect(aiolocals::request.get().id == id && user.get() == who, "a task saw another's values");
  }
  if (who == "alice") {
    co_await aiolocals::co_spawn(co_await asio::this_coro::executor, child(), asio::use_awaitable);
    say("parent: the child's write did not reach me");
    expect(user.get() == "alice", "the child's write reached its parent");
  }
}

asio::awaitable<void> nightly_cleanup() {
  say("job: started");
  expect(aiolocals::request.get().kind == aiolocals::request_kind::job, "no job record in a job");
  co_await pause(2ms);
  say("job: done");
}

}  // namespace

int main() {
  (void)thread_number;  // main is thread 1
  // Plain threads first: each starts in its own empty context; bind carries
  // a copy across.
  user.set("main");
  std::thread([] {
    say("a new thread starts empty (user is the default)");
    expect(user.get() == "-", "a new thread saw main's value");
  }).join();
  std::thread(aiolocals::bind([] {
    say("a bound function brings a copy of main's values");
    expect(user.get() == "main", "bind did not carry main's value");
  })).join();

  asio::io_context io(2);
  const char* people[] = {"alice", "bob", "carol", "dave"};
  for (int i = 0; i < 4; ++i) {
    aiolocals::co_spawn(io, handle("REQ-" + std::to_string(i + 1), people[i], 3), asio::detached);
  }
  aiolocals::co_spawn(
      io,
      []() -> asio::awaitable<void> {
        co_await aiolocals::job_context("nightly-cleanup", nightly_cleanup());
      }(),
      asio::detached);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  for (auto& thread : threads) thread.join();
  say("back in main: its own values are untouched");
  expect(user.get() == "main" && !aiolocals::request.is_set(), "main's values changed");
  return surprises == 0 ? 0 : 1;
}
