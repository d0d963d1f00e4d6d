// Tests for aiolocals/spdlog.hpp: the flags, configure_logging, and async
// loggers that log the caller's id.
#include <gtest/gtest.h>
#include <spdlog/async.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/spdlog.hpp"
#include "capture_sink.hpp"

namespace asio = boost::asio;

namespace {

// The line `pattern` makes of `message`, logged in a fresh context holding
// `current` as the request (none: outside any request).
std::string log_line(const std::string& pattern, const std::string& message,
                     std::optional<aiolocals::request_info> current = std::nullopt) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("capture", sink);
  logger.set_formatter(aiolocals::spdlog::make_formatter(pattern));
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

TEST(Flags, AJobHasNoMethod) {
  EXPECT_EQ(log_line("%W %U", "m",
                     aiolocals::request_info{"j-1", "", "nightly", aiolocals::request_kind::job}),
            "- nightly\n");
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

  aiolocals::spdlog::configure_logging("%l [%U#%q] %v");
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

TEST(ConfigureLogging, RefusesWhileAPlainSpdlogAsyncLoggerIsRegistered) {
  spdlog::init_thread_pool(64, 1);
  auto plain_async = spdlog::create_async_nb<spdlog::sinks::null_sink_mt>("plain-async");
  try {
    aiolocals::spdlog::configure_logging();
    FAIL() << "configure_logging must refuse";
  } catch (const aiolocals::spdlog::configuration_error& error) {
    EXPECT_NE(std::string(error.what()).find("'plain-async'"), std::string::npos);
  }
  spdlog::drop("plain-async");
  EXPECT_NO_THROW(aiolocals::spdlog::configure_logging());
}

// Why our async logger exists: spdlog's formats on its worker thread, where
// the caller's context is not installed, so the flag prints the worker's.
TEST(AsyncLogger, SpdlogsOwnAsyncLoggerLosesTheCallersId) {
  auto pool = std::make_shared<spdlog::details::thread_pool>(64, 1);
  auto sink = std::make_shared<capture_sink>();
  {
    auto logger = std::make_shared<spdlog::async_logger>("spdlog-async", sink, pool);
    logger->set_formatter(aiolocals::spdlog::make_formatter("%q %v"));
    aiolocals::scope fresh;
    aiolocals::request.set({"caller-id", "GET", "/", aiolocals::request_kind::request});
    logger->info("m");
  }
  pool.reset();  // drains and joins
  EXPECT_EQ(sink->lines(), std::vector<std::string>{"- m\n"});
}

TEST(AsyncLogger, OursLogsTheCallersId) {
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::spdlog::async_pool>(64, 1);
    auto logger = aiolocals::spdlog::make_async_logger("ours-async", {sink}, pool, "%q %U %v");
    aiolocals::scope fresh;
    aiolocals::request.set({"caller-id", "GET", "/p", aiolocals::request_kind::request});
    logger->info("m");
    aiolocals::request.set({"second", "GET", "/q", aiolocals::request_kind::request});
    logger->info("n");
    spdlog::drop("ours-async");
  }  // the pool drains its queue before joining
  EXPECT_EQ(sink->lines(), (std::vector<std::string>{"caller-id /p m\n", "second /q n\n"}));
}

// Two threads, many interleaved requests, each logging from several
// resumptions through an async logger: every line has its request's id.
TEST(AsyncLogger, InterleavedRequestsOnTwoThreadsEachLogTheirOwnId) {
  constexpr int requests = 2000;
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::spdlog::async_pool>(1024, 1);
    auto logger = aiolocals::spdlog::make_async_logger("interleaved", {sink}, pool, "%q %v");
    asio::io_context io(2);
    auto handle =
        [](int n, std::shared_ptr<aiolocals::spdlog::async_logger> log) -> asio::awaitable<void> {
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
