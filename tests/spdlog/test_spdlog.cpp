// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/spdlog.hpp: the flags, configure_logging, and async
// loggers that log the caller's id.
#include <gtest/gtest.h>
#include <spdlog/async.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/log/fields.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/spdlog.hpp"
#include "capture_sink.hpp"
#include "warning_catcher.hpp"

namespace asio = boost::asio;

namespace {

// The line `pattern` makes of `message`, logged in a fresh context holding
// `current` as the request (none: outside any request).
std::string log_line(const std::string& pattern, const std::string& message,
                     std::optional<aiolocals::request_info> current = std::nullopt) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("capture", sink);
  logger.set_formatter(aiolocals::make_formatter(pattern));
  aiolocals::scope fresh;
  if (current) aiolocals::request.set(*current);
  logger.info(message);
  return sink->lines().at(0);
}

TEST(Flags, PrintADashOutsideARequest) {
  EXPECT_EQ(log_line("%q|%U|%W|%v", "outside"), "-|-|-|outside\n");
}

TEST(Flags, PrintTheCurrentRequestsFields) {
  EXPECT_EQ(log_line("%q|%U|%W|%v", "inside",
                     aiolocals::request_info{"abc-123", "GET", "/users/7",
                                             aiolocals::request_kind::request}),
            "abc-123|/users/7|GET|inside\n");
}

TEST(Flags, TraceAndSpanIdsInLowercaseHex) {
  aiolocals::request_info current{"t-1", "GET", "/", aiolocals::request_kind::request};
  const std::vector<std::string_view> parents{
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  current.trace = aiolocals::continue_or_start_trace(parents, {});
  EXPECT_EQ(log_line("%J %K %v", "m", current),
            "4bf92f3577b34da6a3ce929d0e0e4736 " + current.trace.span.to_hex() + " m\n");
  EXPECT_EQ(log_line("%J %K %v", "outside"), "- - outside\n");
}

TEST(Flags, AJobHasNoMethod) {
  EXPECT_EQ(log_line("%W %U", "m",
                     aiolocals::request_info{"j-1", "", "nightly", aiolocals::request_kind::job}),
            "- nightly\n");
}

// %Q is a shorthand: it must print exactly what %U#%q prints, inside and
// outside a request, for hostile bytes, empty fields and with padding.
TEST(Flags, TagFlagPrintsExactlyWhatPathHashIdPrints) {
  const std::optional<aiolocals::request_info> records[] = {
      std::nullopt,
      aiolocals::request_info{"abc-123", "GET", "/users/7", aiolocals::request_kind::request},
      aiolocals::request_info{"id", "GET", "/p\n\x1b[31m\\#x", aiolocals::request_kind::request},
      aiolocals::request_info{"j-1", "", "nightly", aiolocals::request_kind::job},
      aiolocals::request_info{"", "GET", "", aiolocals::request_kind::request},
      // Safe parts take one write into the buffer: also past its inline
      // capacity, and with one part hostile or empty.
      aiolocals::request_info{std::string(300, 'i'), "GET", "/" + std::string(700, 'p'),
                              aiolocals::request_kind::request},
      aiolocals::request_info{"id\\x", "GET", "/safe", aiolocals::request_kind::request},
      aiolocals::request_info{"id", "GET", "", aiolocals::request_kind::request}};
  for (const auto& record : records) {
    EXPECT_EQ(log_line("[%Q] %v", "m", record), log_line("[%U#%q] %v", "m", record));
  }
  const aiolocals::request_info current{"abc", "GET", "/p", aiolocals::request_kind::request};
  EXPECT_EQ(log_line("[%12Q][%-12Q][%3!Q]", "m", current), "[      /p#abc][/p#abc      ][/p#]\n");
  EXPECT_NE(std::string(aiolocals::default_log_pattern).find("[%Q]"), std::string::npos);
}

// On main before the fix the width was ignored.
TEST(Flags, HonourSpdlogsPadding) {
  const aiolocals::request_info current{"abc", "GET", "/p\n", aiolocals::request_kind::request};
  EXPECT_EQ(log_line("[%8q][%-8q][%=9W][%2!q][%-6U] %v", "m", current),
            "[     abc][abc     ][   GET   ][ab][/p\\x0a] m\n");
  EXPECT_EQ(log_line("[%-4q] %v", "m"), "[-   ] m\n");
}

TEST(Flags, EscapeEveryByteThatCouldBreakOrForgeALine) {
  const std::string line =
      log_line("[%U] %v", "m",
               aiolocals::request_info{"id", "GET", "/a\nINFO forged\r\x1b[31m\\\xc3\xa9\x7f",
                                       aiolocals::request_kind::request});
  EXPECT_EQ(line, "[/a\\x0aINFO forged\\x0d\\x1b[31m\\x5c\\xc3\\xa9\\x7f] m\n");
  for (char c : line.substr(0, line.size() - 1)) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte < 0x7f) << "raw byte " << int(byte);
  }
}

TEST(ConfigureLogging, GivesEveryRegisteredLoggerThePatternKeepingSinksAndLevels) {
  auto sink = std::make_shared<capture_sink>();
  auto registered = std::make_shared<spdlog::logger>("registered", sink);
  registered->set_level(spdlog::level::warn);
  spdlog::register_logger(registered);
  auto default_sink = std::make_shared<capture_sink>();
  auto previous_default = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("", default_sink));

  aiolocals::configure_logging("%l [%U#%q] %v");
  aiolocals::scope fresh;
  aiolocals::request.set({"r1", "POST", "/orders", aiolocals::request_kind::request});
  registered->info("dropped by the kept level");
  registered->warn("kept");
  spdlog::info("through the default logger");

  EXPECT_EQ(sink->lines(), std::vector<std::string>{"warning [/orders#r1] kept\n"});
  EXPECT_EQ(default_sink->lines(),
            std::vector<std::string>{"info [/orders#r1] through the default logger\n"});
  EXPECT_EQ(registered->sinks().at(0), sink);
  spdlog::drop("registered");
  spdlog::set_default_logger(previous_default);
}

// Documented next to configure_logging: spdlog applies its global formatter
// only in its factories, so a logger built by hand needs the one-line fix.
TEST(ConfigureLogging, HandBuiltLoggersNeedTheirFormatterSetAsDocumented) {
  aiolocals::configure_logging("%q %v");
  auto sink = std::make_shared<capture_sink>();
  auto by_hand = std::make_shared<spdlog::logger>("by-hand", sink);
  spdlog::register_logger(by_hand);
  by_hand->set_formatter(aiolocals::make_formatter("%q %v"));  // the fix
  aiolocals::scope fresh;
  aiolocals::request.set({"h1", "GET", "/", aiolocals::request_kind::request});
  by_hand->info("m");
  EXPECT_EQ(sink->lines(), std::vector<std::string>{"h1 m\n"});
  spdlog::drop("by-hand");
  aiolocals::configure_logging();
}

TEST(ConfigureLogging, RefusesWhileAPlainSpdlogAsyncLoggerIsRegistered) {
  spdlog::init_thread_pool(64, 1);
  auto plain_async = spdlog::create_async_nb<spdlog::sinks::null_sink_mt>("plain-async");
  try {
    aiolocals::configure_logging();
    FAIL() << "configure_logging must refuse";
  } catch (const aiolocals::configuration_error& error) {
    EXPECT_NE(std::string(error.what()).find("'plain-async'"), std::string::npos);
  }
  spdlog::drop("plain-async");
  EXPECT_NO_THROW(aiolocals::configure_logging());
}

// Why our async logger exists: spdlog's formats on its worker thread, where
// the caller's context is not current. On main before the fix its lines said
// "-" (no request) silently; now they say (unknown), and the logger's error
// handler is told once, whether it was made before or after
// configure_logging (here through spdlog's async factory, after).
TEST(AsyncLogger, SpdlogsOwnAsyncLoggerPrintsAMarkerAndWarnsOnce) {
  aiolocals::configure_logging("%q %U %v");
  spdlog::init_thread_pool(64, 1);
  auto logger = spdlog::create_async<capture_sink>("spdlog-async");
  auto sink = std::static_pointer_cast<capture_sink>(logger->sinks().at(0));
  warning_catcher warnings(*logger);
  {
    aiolocals::scope fresh;
    aiolocals::request.set({"caller-id", "GET", "/", aiolocals::request_kind::request});
    for (int i = 0; i < 3; ++i) logger->info("m");
  }
  const std::string warning = warnings.first();
  spdlog::init_thread_pool(64, 1);  // destroys the old pool: drained and joined
  logger.reset();
  spdlog::drop("spdlog-async");
  EXPECT_EQ(sink->lines(), std::vector<std::string>(3, "(unknown) (unknown) m\n"));
  EXPECT_NE(warning.find("make_async_logger"), std::string::npos) << warning;
  EXPECT_EQ(warnings.count(), 1);
  aiolocals::configure_logging();
}

// On main before the fix: a line logged inside request ONE and replayed by
// dump_backtrace() inside request TWO carried TWO's id.
template <class MakeLogger>
void backtrace_never_carries_another_requests_id(MakeLogger make_logger) {
  auto sink = std::make_shared<capture_sink>();
  std::shared_ptr<spdlog::logger> logger = make_logger(sink);
  warning_catcher warnings(*logger);
  logger->set_level(spdlog::level::warn);
  logger->enable_backtrace(8);
  {
    aiolocals::scope one;
    aiolocals::request.set({"ONE", "GET", "/one", aiolocals::request_kind::request});
    logger->info("kept for the backtrace");
  }
  {
    aiolocals::scope two;
    aiolocals::request.set({"TWO", "GET", "/two", aiolocals::request_kind::request});
    logger->dump_backtrace();
    logger->warn("after");
  }
  if (auto async = std::dynamic_pointer_cast<aiolocals::async_logger>(logger)) {
    async->wait_until_written();
  }
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "(unknown) kept for the backtrace\n");
  EXPECT_EQ(lines[3], "TWO after\n");
  EXPECT_NE(warnings.first().find("dump_backtrace"), std::string::npos);
  EXPECT_EQ(warnings.count(), 1);
}

TEST(Backtrace, ASynchronousLoggersReplayedLinesNeverCarryTheDumpersId) {
  backtrace_never_carries_another_requests_id([](std::shared_ptr<capture_sink> sink) {
    auto logger = std::make_shared<spdlog::logger>("backtrace-sync", sink);
    spdlog::register_logger(logger);  // where the warning finds its handler
    logger->set_formatter(aiolocals::make_formatter("%q %v"));
    return logger;
  });
  spdlog::drop("backtrace-sync");
}

TEST(Backtrace, OurAsyncLoggersReplayedLinesNeverCarryTheDumpersId) {
  backtrace_never_carries_another_requests_id([](std::shared_ptr<capture_sink> sink) {
    return aiolocals::make_async_logger("backtrace-async", {sink}, aiolocals::default_log_pool(),
                                        "%q %v");
  });
  spdlog::drop("backtrace-async");
}

// Issue 21, case 5: with the id-printing sink at `warn`, spdlog's `info`
// backtrace markers never reach its formatter; on main the replayed lines
// then carried the dumper's id (TWO), 6 of 6.
TEST(Backtrace, ReplayedLinesSayUnknownWhateverTheSinksLevel) {
  auto sink = std::make_shared<capture_sink>();
  sink->set_level(spdlog::level::warn);
  spdlog::logger logger("backtrace-warn-sink", sink);
  logger.set_formatter(aiolocals::make_formatter("%q %v"));
  logger.set_level(spdlog::level::err);  // warn lines are only kept
  logger.enable_backtrace(8);
  {
    aiolocals::scope one;
    aiolocals::request.set({"ONE", "GET", "/one", aiolocals::request_kind::request});
    for (int i = 0; i < 6; ++i) logger.warn("kept {}", i);
  }
  aiolocals::scope two;
  aiolocals::request.set({"TWO", "GET", "/two", aiolocals::request_kind::request});
  logger.dump_backtrace();
  logger.error("after");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 7u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[static_cast<std::size_t>(i)], "(unknown) kept " + std::to_string(i) + "\n");
  }
  EXPECT_EQ(lines[6], "TWO after\n");
}

// Issue 21, case 4: a debug endpoint reading spdlog's ring buffer in
// request TWO formats lines logged in ONE; on main 6 of 6 carried TWO's id.
TEST(StoredLines, ARingBufferReadLaterSaysUnknownNeverTheReadersId) {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  ring->set_formatter(aiolocals::make_formatter("%q %v"));
  auto logger = std::make_shared<spdlog::logger>("ring", ring);
  spdlog::register_logger(logger);  // where the warning finds its handler
  warning_catcher warnings(*logger);
  {
    aiolocals::scope one;
    aiolocals::request.set({"ONE", "GET", "/one", aiolocals::request_kind::request});
    for (int i = 0; i < 6; ++i) logger->info("line {}", i);
  }
  std::vector<std::string> read;
  {
    aiolocals::scope two;
    aiolocals::request.set({"TWO", "GET", "/debug", aiolocals::request_kind::request});
    read = ring->last_formatted();
  }
  ASSERT_EQ(read.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(read[static_cast<std::size_t>(i)], "(unknown) line " + std::to_string(i) + "\n");
  }
  EXPECT_NE(warnings.first().find("ringbuffer_sink"), std::string::npos) << warnings.first();
  EXPECT_EQ(warnings.count(), 1);
  spdlog::drop("ring");
}

// On main before the fix: the logger kept only a weak_ptr, so with the
// natural temporary pool 0 of 10 messages were delivered.
TEST(AsyncLogger, ATemporaryPoolOrTheDefaultPoolDeliversEveryMessage) {
  auto sink = std::make_shared<capture_sink>();
  auto temporary = aiolocals::make_async_logger("temporary-pool", {sink},
                                                std::make_shared<aiolocals::async_pool>(), "%v");
  auto shared = aiolocals::make_async_logger("default-pool", {sink}, {}, "%v");
  for (int i = 0; i < 10; ++i) temporary->info("t{}", i);
  for (int i = 0; i < 10; ++i) shared->info("d{}", i);
  spdlog::drop("temporary-pool");  // the registry lets go: drained first
  spdlog::drop("default-pool");
  EXPECT_EQ(sink->lines().size(), 20u);
}

// Issue 21, case 7: on main a pool with no thread hung at exit, and one
// with no queue slot hung in the first log call, with no message.
TEST(AsyncLogger, AnInvalidPoolIsRefusedWhereItIsMade) {
  for (auto [queue_size, threads, names] :
       {std::tuple<std::size_t, std::size_t, const char*>{8192, 0, "threads"},
        {0, 1, "queue_size"},
        {16, 1001, "threads"}}) {
    try {
      aiolocals::async_pool pool(queue_size, threads);
      ADD_FAILURE() << queue_size << " " << threads << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
  }
  aiolocals::async_pool smallest(1, 1);  // the bounds themselves are fine
}

// On main before the fix: with the pool gone, info() threw spdlog_ex out of
// the log call. Loggers now own their pool; errors go to the error handler.
TEST(AsyncLogger, ALogCallNeverThrows) {
  struct throwing_sink final : spdlog::sinks::base_sink<std::mutex> {
    void sink_it_(const spdlog::details::log_msg&) override {
      throw std::runtime_error("disk full");
    }
    void flush_() override {}
  };
  auto pool = std::make_shared<aiolocals::async_pool>(64, 1);
  auto sink = std::make_shared<capture_sink>();
  auto logger = std::make_shared<aiolocals::async_logger>(
      "never-throws", std::vector<spdlog::sink_ptr>{std::make_shared<throwing_sink>(), sink}, pool);
  logger->set_formatter(aiolocals::make_formatter("%v"));
  std::atomic<int> errors{0};
  logger->set_error_handler([&](const std::string& text) { errors += text == "disk full"; });
  pool.reset();  // the caller's handle is gone; the logger keeps the pool
  EXPECT_NO_THROW(logger->info("still delivered"));
  logger->wait_until_written();
  EXPECT_EQ(sink->lines(), std::vector<std::string>{"still delivered\n"});
  EXPECT_EQ(errors, 1);
}

// Found by fuzz_json_lines: a message whose text is spdlog's backtrace
// start marker (a client's bytes logged as the message) made every later
// line on that thread print (unknown). Only spdlog's own marker counts.
TEST(Backtrace, AMessageThatSaysTheMarkerSwitchesNothingOff) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("forged-marker", sink);
  logger.set_formatter(aiolocals::make_formatter("%q %v"));
  aiolocals::scope fresh;
  aiolocals::request.set({"mine", "GET", "/", aiolocals::request_kind::request});
  logger.info("****************** Backtrace Start ******************");
  logger.info("after");
  logger.info(std::string("****************** Backtrace Start ******************"));
  logger.info("still");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "mine after\n");
  EXPECT_EQ(lines[3], "mine still\n");
}

// spdlog::shutdown() and normal exit: tests/spdlog_shutdown_check.cpp (they
// end the process's logging, so they run in processes of their own).

TEST(AsyncLogger, OursLogsTheCallersId) {
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::async_pool>(64, 1);
    auto logger = aiolocals::make_async_logger("ours-async", {sink}, pool, "%q %U %v");
    aiolocals::scope fresh;
    aiolocals::request.set({"caller-id", "GET", "/p", aiolocals::request_kind::request});
    logger->info("m");
    aiolocals::request.set({"second", "GET", "/q", aiolocals::request_kind::request});
    logger->info("n");
    spdlog::drop("ours-async");
  }  // the pool drains its queue before joining
  EXPECT_EQ(sink->lines(), (std::vector<std::string>{"caller-id /p m\n", "second /q n\n"}));
}

// %k: the task's log fields after the tag, in the line that was logged
// inside the task, through a synchronous and our asynchronous logger (the
// worker formats inside the caller's snapshot, so a field set or removed
// after the call never shows in the line).
TEST(LogFieldsFlag, PrintsTheTasksFieldsInSyncAndAsyncLines) {
  EXPECT_EQ(log_line("[%q]%k %v", "outside"), "[-] outside\n");  // no fields: nothing
  auto sync_sink = std::make_shared<capture_sink>();
  spdlog::logger sync_logger("fields-sync", sync_sink);
  sync_logger.set_formatter(aiolocals::make_formatter("[%q]%k %v|%12k|%-12k|"));
  auto async_sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::async_pool>(64, 1);
    auto async_logger =
        aiolocals::make_async_logger("fields-async", {async_sink}, pool, "[%q]%k %v");
    aiolocals::scope fresh;
    aiolocals::request.set({"r-1", "GET", "/p", aiolocals::request_kind::request});
    aiolocals::set_log_field("tenant", "acme");
    aiolocals::set_log_field("n", 7);
    sync_logger.info("one");
    async_logger->info("one");
    aiolocals::set_log_field("tenant", "globex corp");  // escaped: no forged pair
    aiolocals::remove_log_field("n");
    sync_logger.info("two");
    async_logger->info("two");
    spdlog::drop("fields-async");
  }
  EXPECT_EQ(sync_sink->lines(),
            (std::vector<std::string>{
                "[r-1] tenant=acme n=7 one| tenant=acme n=7| tenant=acme n=7|\n",
                "[r-1] tenant=globex\\x20corp two| tenant=globex\\x20corp| tenant=globex\\x20corp|\n"}));
  EXPECT_EQ(async_sink->lines(),
            (std::vector<std::string>{"[r-1] tenant=acme n=7 one\n",
                                      "[r-1] tenant=globex\\x20corp two\n"}));
  EXPECT_EQ(log_line("[%20k]", "m"), "[                    ]\n");
}

// The async logger formats in a snapshot of the caller's context: a
// not-inherited local set by the task is on the lines the task logs.
aiolocals::local<std::string> task_budget{"task_budget", aiolocals::not_inherited};
class task_budget_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& out) override {
    const std::string* budget = task_budget.find();
    const std::string text = budget ? *budget : "unset";
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<task_budget_flag>();
  }
};

TEST(AsyncLogger, ALineLoggedInsideATaskPrintsItsNotInheritedLocals) {
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::async_pool>(64, 1);
    auto logger = aiolocals::make_async_logger("budget-async", {sink}, pool, "%v");
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<task_budget_flag>('B').set_pattern("%B %v");
    logger->set_formatter(std::move(formatter));
    aiolocals::scope task;
    task_budget.set("5ms");
    logger->info("in task");
    aiolocals::context::current().child().run([&] { logger->info("in child"); });
    spdlog::drop("budget-async");
  }
  EXPECT_EQ(sink->lines(), (std::vector<std::string>{"5ms in task\n", "unset in child\n"}));
}

// A stored copy of a line (a backtrace replayed in another task) must not
// carry the replaying task's fields.
TEST(LogFieldsFlag, AReplayedLineSaysUnknownNeverTheReplayersFields) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("fields-backtrace", sink);
  logger.set_formatter(aiolocals::make_formatter("%k|%v"));
  logger.enable_backtrace(4);
  {
    aiolocals::scope one;
    aiolocals::set_log_field("who", "one");
    logger.debug("kept");
  }
  aiolocals::scope two;
  aiolocals::set_log_field("who", "two");
  logger.dump_backtrace();
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], " (unknown)|kept\n");
}

// Two threads, many interleaved requests, each logging from several
// resumptions through an async logger: every line has its request's id.
TEST(AsyncLogger, InterleavedRequestsOnTwoThreadsEachLogTheirOwnId) {
  constexpr int requests = 2000;
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::async_pool>(1024, 1);
    auto logger = aiolocals::make_async_logger("interleaved", {sink}, pool, "%q %v");
    asio::io_context io(2);
    auto handle = [](int n, std::shared_ptr<aiolocals::async_logger> log) -> asio::awaitable<void> {
      aiolocals::request.set(
          {"req-" + std::to_string(n), "GET", "/", aiolocals::request_kind::request});
      for (int step = 0; step < 3; ++step) {
        co_await asio::post(asio::use_awaitable);
        log->info("req-{} step {}", n, step);
      }
    };
    for (int n = 0; n < requests; ++n) aiolocals::co_spawn(io, handle(n, logger), asio::detached);
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    spdlog::drop("interleaved");
  }
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(requests * 3));
  int mismatches = 0;
  const std::regex shape(R"((\S+) (\S+) step \d\n)");
  for (const auto& line : lines) {
    std::smatch match;
    if (!std::regex_match(line, match, shape) || match[1] != match[2]) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
