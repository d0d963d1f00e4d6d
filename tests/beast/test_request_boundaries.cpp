// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/beast.hpp at a request's boundaries: what the caller
// of a tracked handler sees when it returns, and a handler that throws
// while its request's context is held elsewhere. Each case runs with 1, 2
// and 4 threads on one io_context, with connections started by
// aiolocals::co_spawn (a context of their own), as plain tasks and as plain
// tasks on a strand.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/beast.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

enum class loop_kind { copy, task, strand };

struct scenario {
  loop_kind loop;
  int threads;
};

std::string name_of(const testing::TestParamInfo<scenario>& info) {
  const char* loop = info.param.loop == loop_kind::copy ? "ContextCopy"
                     : info.param.loop == loop_kind::task  ? "Task"
                                                           : "TaskOnAStrand";
  return std::string(loop) + "On" + std::to_string(info.param.threads) + "Threads";
}

request request_with_id(const std::string& id) {
  request req{http::verb::get, "/r", 11};
  req.set("X-Request-ID", id);
  return req;
}

// What the current context says of the request: its id, or "-".
std::string seen() { return aiolocals::request.is_set() ? aiolocals::request.get().id : "-"; }

// Starts `loop` as a connection's coroutine is started.
void start(loop_kind kind, asio::io_context& io, asio::awaitable<void> loop) {
  switch (kind) {
    case loop_kind::copy:
      aiolocals::co_spawn(io, std::move(loop), asio::detached);
      break;
    case loop_kind::task:
      asio::co_spawn(io, std::move(loop), asio::detached);
      break;
    case loop_kind::strand:
      asio::co_spawn(asio::make_strand(io), std::move(loop), asio::detached);
      break;
  }
}

// Runs `io` on `threads` threads (this one among them) until it runs out.
void run_on(asio::io_context& io, int threads) {
  std::vector<std::thread> others;
  for (int i = 1; i < threads; ++i) others.emplace_back([&] { io.run(); });
  io.run();
  for (auto& thread : others) thread.join();
}

// Eight connections' loops, run until everything has ended.
template <class Loop>
void serve(loop_kind kind, int threads, Loop loop) {
  asio::io_context io(threads);
  for (int i = 0; i < 8; ++i) start(kind, io, loop(i));
  run_on(io, threads);
}

class RequestBoundaries : public testing::TestWithParam<scenario> {};

// Issue 21, case 1: on main, a loop started with plain asio::co_spawn
// resumed inside the finished request's context (Asio dispatches the
// tracked task's completion inline): its own line and a task it started
// between requests carried that request's id, 320 of 320.
TEST_P(RequestBoundaries, TheCallerResumesInItsOwnContextAndItsTasksNeverSeeARequest) {
  auto tracked = aiolocals::track_requests([](request req) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);
    co_return response{http::status::ok, req.version()};
  });
  std::mutex mutex;
  std::vector<std::string> wrong;
  int loop_lines = 0, task_lines = 0;
  auto record = [&](const std::string& who, bool task) {
    std::lock_guard lock(mutex);
    ++(task ? task_lines : loop_lines);
    if (seen() != "-") wrong.push_back(who + " saw " + seen());
  };
  auto between_requests = [&](std::string who) -> asio::awaitable<void> {
    record(who, true);
    co_await asio::post(asio::use_awaitable);  // still nothing, later on
    record(who, true);
  };
  auto loop = [&](int connection) -> asio::awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      const std::string id = "c" + std::to_string(connection) + "-r" + std::to_string(i);
      response res = co_await tracked(request_with_id(id));
      EXPECT_EQ(res["X-Request-ID"], id);
      record("loop after " + id, false);
      aiolocals::co_spawn(co_await asio::this_coro::executor, between_requests("task after " + id),
                          asio::detached);
    }
  };
  serve(GetParam().loop, GetParam().threads, loop);
  EXPECT_EQ(loop_lines, 160);
  EXPECT_EQ(task_lines, 320);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong, e.g. " << wrong.front();
}

// Waits (yielding) until `flag` is set; false after `limit`, so that a bug
// shows as a failure, not a hung test.
bool wait_for(const std::atomic<bool>& flag,
              std::chrono::steady_clock::duration limit = std::chrono::seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!flag) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

// Issue 21, case 2: a handler that threw while another thread held its
// request's context made context_error escape track_requests: no 500, no
// on_exception call. Each round: the handler hands its request's context
// to a holder thread (which enters it as soon as the handler's thread has
// left it, and holds it until the report) and throws. The handler's task
// needs its context again to finish after the throw, so the holder holds
// it only briefly (5 ms) and the report meets it in some rounds only.
TEST_P(RequestBoundaries, AHandlerThatThrowsWhileItsContextIsHeldElsewhereGetsA500AndOneReport) {
  const loop_kind kind = GetParam().loop;
  const int threads = GetParam().threads;
  int answered = 0, reported = 0;
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> request_held{false};
    std::atomic<bool> reported_once{false};
    const auto hold_limit = std::chrono::steady_clock::duration(std::chrono::milliseconds(5));
    std::vector<std::thread> holders;
    std::vector<std::string> reports;
    aiolocals::tracking_options options;
    options.on_exception = [&](std::exception_ptr) {
      reports.push_back(seen());
      reported_once = true;
    };
    asio::io_context io(threads);
    auto tracked = aiolocals::track_requests(
        [&](request req) -> asio::awaitable<response> {
          holders.emplace_back([&, held = aiolocals::context::current()]() mutable {
            for (;;) {
              try {
                held.run([&] {
                  request_held = true;
                  wait_for(reported_once, hold_limit);
                });
                return;
              } catch (const aiolocals::context_error&) {
                std::this_thread::yield();  // the handler's thread is still in it
              }
            }
          });
          if (req.target() == "/r") throw std::runtime_error("database down");
          co_return response{http::status::ok, req.version()};
        },
        options);
    std::string answer;
    auto loop = [&]() -> asio::awaitable<void> {
      response res = co_await tracked(request_with_id("boom-" + std::to_string(round)));
      answer = std::to_string(res.result_int()) + " " + std::string(res["X-Request-ID"]);
    };
    start(kind, io, loop());
    run_on(io, threads);
    reported_once = true;  // lets a holder go if the report never came
    for (auto& holder : holders) holder.join();
    const std::string expected = "500 boom-" + std::to_string(round);
    answered += answer == expected;
    reported += reports == std::vector<std::string>{"boom-" + std::to_string(round)};
    if (answer != expected) ADD_FAILURE() << "round " << round << ": answer '" << answer << "'";
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(answered, 200);
  EXPECT_EQ(reported, 200);
}

// Issue 21, case 8, at the wrapper: on main a throwing validator or
// generator escaped track_requests with no response (8 of 8), and a 1 MB
// generated id made the echo throw, then the 500 path again. Now each is
// answered with a safe, bounded id; an on_exception that throws changes
// nothing either.
TEST(TrackingCallbacks, ThrowingOrAbsurdCallbacksStillGetAnAnswerWithASafeId) {
  aiolocals::tracking_options throwing;
  throwing.is_acceptable = [](std::string_view) -> bool { throw std::runtime_error("validator"); };
  throwing.generate = []() -> std::string { throw std::runtime_error("generator"); };
  aiolocals::tracking_options absurd;
  absurd.generate = [] { return std::string(1 << 20, 'x'); };
  aiolocals::tracking_options reporter_throws;
  reporter_throws.on_exception = [](std::exception_ptr) { throw std::runtime_error("reporter"); };
  auto ok = [](request req) -> asio::awaitable<response> {
    co_return response{http::status::ok, req.version()};
  };
  auto boom = [](request) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);
    throw std::runtime_error("handler");
  };
  std::vector<std::string> answers;
  testing::internal::CaptureStderr();
  {
    asio::io_context io;
    auto with_throwing = aiolocals::track_requests(ok, throwing);
    auto with_absurd = aiolocals::track_requests(ok, absurd);
    auto with_reporter_throwing = aiolocals::track_requests(boom, reporter_throws);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (auto* tracked : {&with_throwing, &with_absurd}) {
            response res = co_await (*tracked)(request_with_id("client-1"));
            answers.push_back(std::to_string(res.result_int()) + " " +
                              std::string(res["X-Request-ID"]));
            res = co_await (*tracked)(request{http::verb::get, "/", 11});
            answers.push_back(std::to_string(res.result_int()) + " " +
                              std::string(res["X-Request-ID"]));
          }
          response res = co_await with_reporter_throwing(request_with_id("boom-1"));
          answers.push_back(std::to_string(res.result_int()) + " " +
                            std::string(res["X-Request-ID"]));
        },
        asio::detached);
    io.run();
  }
  const std::string said = testing::internal::GetCapturedStderr();
  ASSERT_EQ(answers.size(), 5u);
  const auto is_uuid_answer = [](const std::string& answer) {
    return answer.size() == 4 + 36 && answer.starts_with("200 ") && answer[4 + 8] == '-';
  };
  EXPECT_TRUE(is_uuid_answer(answers[0])) << answers[0];  // the validator threw: rejected
  EXPECT_TRUE(is_uuid_answer(answers[1])) << answers[1];  // the generator threw: a UUID
  EXPECT_EQ(answers[2], "200 client-1");                  // a good client id needs no generator
  EXPECT_TRUE(is_uuid_answer(answers[3])) << answers[3];  // 1 MB generated: a UUID
  EXPECT_EQ(answers[4], "500 boom-1");
  EXPECT_LT(said.size(), 2048u) << said;  // bounded: never the 1 MB id
  EXPECT_NE(said.find("on_exception threw"), std::string::npos) << said;
}

INSTANTIATE_TEST_SUITE_P(
    Loops, RequestBoundaries,
    testing::Values(scenario{loop_kind::copy, 1}, scenario{loop_kind::copy, 2},
                    scenario{loop_kind::copy, 4}, scenario{loop_kind::task, 1},
                    scenario{loop_kind::task, 2}, scenario{loop_kind::task, 4},
                    scenario{loop_kind::strand, 1}, scenario{loop_kind::strand, 2},
                    scenario{loop_kind::strand, 4}),
    name_of);

}  // namespace
