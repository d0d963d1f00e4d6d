// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/spdlog/json_formatter.hpp. Every line is parsed back
// by Boost.JSON (strict: a raw control byte or invalid UTF-8 is an error).
#include "aiolocals/spdlog/json_formatter.hpp"

#include <gtest/gtest.h>
#include <spdlog/async.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/asio.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"
#include "aiolocals/spdlog.hpp"
#include "capture_sink.hpp"
#include "json_parse.hpp"
#include "warning_catcher.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// `line` parsed as one JSON object ending in exactly one '\n'.
json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  auto value = aiolocals::testing::parse_json(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_TRUE(value && value->is_object()) << line;
  if (!value || !value->is_object()) return {};
  return value->as_object();
}

std::vector<std::string> keys(const json::object& object) {
  std::vector<std::string> names;
  for (const auto& member : object) names.emplace_back(member.key());
  return names;
}

std::string text(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "<absent>";
}

// The JSON line of `message`, logged in a fresh context holding `current`.
json::object log_json(const std::string& message,
                      std::optional<aiolocals::request_info> current = std::nullopt,
                      spdlog::level::level_enum level = spdlog::level::info) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("json-test", sink);
  logger.set_formatter(aiolocals::make_json_formatter());
  logger.set_level(spdlog::level::trace);
  aiolocals::scope fresh;
  if (current) aiolocals::request.set(*current);
  logger.log(level, message);
  const auto lines = sink->lines();
  EXPECT_EQ(lines.size(), 1u);
  return lines.empty() ? json::object{} : parse_line(lines[0]);
}

aiolocals::request_info traced_request() {
  aiolocals::request_info info{"req-42", "POST", "/orders", aiolocals::request_kind::request};
  const std::vector<std::string_view> parents{
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  info.trace = aiolocals::continue_or_start_trace(parents, {});
  return info;
}

TEST(JsonLines, OutsideARequestOnlyTheLinesOwnFields) {
  const auto line = log_json("hello");
  EXPECT_EQ(keys(line), (std::vector<std::string>{"time", "level", "logger", "message"}));
  EXPECT_EQ(text(line, "level"), "info");
  EXPECT_EQ(text(line, "logger"), "json-test");
  EXPECT_EQ(text(line, "message"), "hello");
  EXPECT_TRUE(std::regex_match(text(line, "time"),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")))
      << text(line, "time");
}

TEST(JsonLines, ARequestsIdsUnderOpenTelemetrysNames) {
  const auto info = traced_request();
  const auto line = log_json("charged", info);
  EXPECT_EQ(keys(line), (std::vector<std::string>{"time", "level", "logger", "message", "trace_id",
                                                  "span_id", "parent_span_id", "request_id",
                                                  "method", "path"}));
  EXPECT_EQ(text(line, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(text(line, "span_id"), info.trace.span.to_hex());
  EXPECT_EQ(text(line, "parent_span_id"), "00f067aa0ba902b7");
  EXPECT_EQ(text(line, "request_id"), "req-42");
  EXPECT_EQ(text(line, "method"), "POST");
  EXPECT_EQ(text(line, "path"), "/orders");
}

TEST(JsonLines, ATraceStartedHereHasNoParentAndARecordWithoutTraceNoIds) {
  aiolocals::request_info info{"r", "GET", "/", aiolocals::request_kind::request};
  EXPECT_EQ(keys(log_json("m", info)), (std::vector<std::string>{"time", "level", "logger",
                                                                 "message", "request_id", "method",
                                                                 "path"}));
  info.trace = aiolocals::start_trace();
  const auto line = log_json("m", info);
  EXPECT_EQ(text(line, "trace_id"), info.trace.trace.to_hex());
  EXPECT_EQ(line.if_contains("parent_span_id"), nullptr);
}

TEST(JsonLines, AJobHasItsNameAndNoMethodOrPath) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("job", sink);
  logger.set_formatter(aiolocals::make_json_formatter());
  aiolocals::job_context("nightly-report", [&] { logger.info("ran"); });
  const auto job_line = parse_line(sink->lines().at(0));
  EXPECT_EQ(text(job_line, "job"), "nightly-report");
  EXPECT_EQ(text(job_line, "request_id").rfind("nightly-report-", 0), 0u);
  EXPECT_EQ(text(job_line, "trace_id").size(), 32u);
  EXPECT_EQ(job_line.if_contains("method"), nullptr);
  EXPECT_EQ(job_line.if_contains("path"), nullptr);
}

// Log fields become members after ours, typed; a hostile text value stays
// one string; a line outside any task has none.
TEST(JsonLines, LogFieldsAreTypedMembersAfterOurs) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("json-fields", sink);
  logger.set_formatter(aiolocals::make_json_formatter());
  aiolocals::job_context("fields", [&] {
    aiolocals::set_log_field("tenant", "acme\",\"request_id\":\"forged");
    aiolocals::set_log_field("order_id", 42);
    aiolocals::set_log_field("ratio", 0.25);
    aiolocals::set_log_field("retry", true);
    logger.info("paid");
  });
  logger.info("outside");
  const auto line = parse_line(sink->lines().at(0));
  const auto names = keys(line);
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(names.end() - 4, names.end()),
            (std::vector<std::string>{"tenant", "order_id", "ratio", "retry"}));
  EXPECT_EQ(text(line, "tenant"), "acme\",\"request_id\":\"forged");
  EXPECT_EQ(text(line, "request_id").rfind("fields-", 0), 0u);  // ours, not forged
  EXPECT_EQ(line.at("order_id").as_int64(), 42);
  EXPECT_EQ(line.at("ratio").as_double(), 0.25);
  EXPECT_EQ(line.at("retry").as_bool(), true);
  const auto outside = parse_line(sink->lines().at(1));
  EXPECT_EQ(outside.if_contains("tenant"), nullptr);
}

TEST(JsonLines, ALineInsideASpanBlockCarriesTheBlocksSpanAndItsParent) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("spans", sink);
  logger.set_formatter(aiolocals::make_json_formatter());
  const auto info = traced_request();
  aiolocals::scope fresh;
  aiolocals::request.set(info);
  aiolocals::span_context block;
  aiolocals::span("pricing", [&] {
    block = aiolocals::current_span();
    logger.info("inside");
  });
  logger.info("after");
  const auto inside = parse_line(sink->lines().at(0));
  const auto after = parse_line(sink->lines().at(1));
  EXPECT_EQ(text(inside, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(text(inside, "span_id"), block.span.to_hex());
  EXPECT_EQ(text(inside, "parent_span_id"), info.trace.span.to_hex());  // the server span
  EXPECT_EQ(text(inside, "request_id"), "req-42");
  EXPECT_EQ(text(after, "span_id"), info.trace.span.to_hex());  // back in the server span
  EXPECT_EQ(text(after, "parent_span_id"), "00f067aa0ba902b7");
}

TEST(JsonLines, EveryLevelByName) {
  const std::pair<spdlog::level::level_enum, const char*> levels[] = {
      {spdlog::level::trace, "trace"}, {spdlog::level::debug, "debug"},
      {spdlog::level::info, "info"},   {spdlog::level::warn, "warning"},
      {spdlog::level::err, "error"},   {spdlog::level::critical, "critical"}};
  for (const auto& [level, name] : levels) {
    EXPECT_EQ(text(log_json("m", std::nullopt, level), "level"), name);
  }
}

TEST(JsonLines, TimeIsRfc3339UtcWithNanoseconds) {
  auto sink = std::make_shared<capture_sink>();
  spdlog::logger logger("time", sink);
  logger.set_formatter(aiolocals::make_json_formatter());
  using namespace std::chrono;
  const auto at = [&](sys_seconds second, nanoseconds fraction) {
    logger.log(time_point_cast<spdlog::log_clock::duration>(second + fraction), {},
               spdlog::level::info, "m");
    return text(parse_line(sink->lines().back()), "time");
  };
  EXPECT_EQ(at(sys_days(1970y / 1 / 1), 1ns), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(at(sys_days(2026y / 11 / 28) + 21h + 10min + 2s, 123456789ns),
            "2026-11-28T21:10:02.123456789Z");
  EXPECT_EQ(at(sys_days(2024y / 2 / 29) + 23h + 59min + 59s, 999999999ns),
            "2024-02-29T23:59:59.999999999Z");
  // The cached second is replaced, not reused for the next one.
  EXPECT_EQ(at(sys_days(2024y / 3 / 1), 0ns), "2024-03-01T00:00:00.000000000Z");
}

// What a client or a careless caller may put in a message or a path: the
// line stays one JSON object, valid UTF-8 round-trips and the rest is
// replaced; a forged line or field never appears.
TEST(JsonLines, HostileMessagesAndPathsNeverBreakALine) {
  const std::string hostile[] = {
      "quote \" backslash \\ end",
      "line one\n{\"level\":\"critical\",\"request_id\":\"forged\"}",
      std::string("nul \0 bell \a esc \x1b[31m del \x7f", 28),  // 28: the NUL inside counts
      "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8",
      "bad \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82",
      "\"}, \"request_id\": \"forged"};
  for (const std::string& evil : hostile) {
    aiolocals::request_info info{"safe-id", "GET", evil, aiolocals::request_kind::request};
    const auto line = log_json(evil, info);
    const std::string message = text(line, "message");
    EXPECT_EQ(text(line, "path"), message);
    EXPECT_EQ(text(line, "request_id"), "safe-id");
    if (evil.find_first_of("\xff\xc0\xed\xe2\x82") == std::string::npos ||
        evil.find("\xe2\x80\xa8") != std::string::npos) {
      EXPECT_EQ(message, evil);
    } else {
      EXPECT_NE(message.find("\xef\xbf\xbd"), std::string::npos) << message;
    }
  }
}

// Our async logger formats on its worker inside each line's snapshot: with
// JSON lines, every line of interleaved requests on two threads has its own
// request's id.
TEST(JsonLines, OurAsyncLoggerCarriesEachLinesOwnRequest) {
  constexpr int requests = 1000;
  auto sink = std::make_shared<capture_sink>();
  {
    auto pool = std::make_shared<aiolocals::async_pool>(1024, 1);
    auto logger = aiolocals::make_async_logger("json-async", {sink}, pool);
    logger->set_formatter(aiolocals::make_json_formatter());
    asio::io_context io(2);
    auto handle = [](int n, std::shared_ptr<aiolocals::async_logger> log) -> asio::awaitable<void> {
      aiolocals::request_info info{"req-" + std::to_string(n), "GET", "/n/" + std::to_string(n),
                                   aiolocals::request_kind::request};
      info.trace = aiolocals::start_trace();
      aiolocals::request.set(std::move(info));
      for (int step = 0; step < 3; ++step) {
        co_await asio::post(asio::use_awaitable);
        log->info("req-{}", n);
      }
    };
    for (int n = 0; n < requests; ++n) aiolocals::co_spawn(io, handle(n, logger), asio::detached);
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    spdlog::drop("json-async");
  }
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(requests * 3));
  int wrong = 0;
  for (const auto& line : lines) {
    const auto object = parse_line(line);
    const std::string id = text(object, "request_id");
    wrong += id != text(object, "message") || "/n/" + id.substr(4) != text(object, "path") ||
             text(object, "trace_id").size() != 32;
  }
  EXPECT_EQ(wrong, 0);
}

// spdlog's own async logger formats where the caller's request is unknown:
// the line says so instead of carrying no id, and the handler is told once.
TEST(JsonLines, SpdlogsAsyncLoggerSaysTheRequestIsUnknown) {
  spdlog::init_thread_pool(64, 1);
  auto sink = std::make_shared<capture_sink>();
  auto logger = std::make_shared<spdlog::async_logger>("json-plain-async", sink,
                                                       spdlog::thread_pool());
  spdlog::register_logger(logger);
  logger->set_formatter(aiolocals::make_json_formatter());
  warning_catcher warnings(*logger);
  {
    aiolocals::scope fresh;
    aiolocals::request.set(traced_request());
    logger->info("a");
    logger->info("b");
  }
  const std::string warning = warnings.first();
  spdlog::init_thread_pool(64, 1);  // destroys the old pool: drained and joined
  spdlog::drop("json-plain-async");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    const auto object = parse_line(line);
    EXPECT_EQ(text(object, "request_id"), "(unknown)");
    EXPECT_EQ(object.if_contains("trace_id"), nullptr);
    EXPECT_EQ(object.if_contains("path"), nullptr);
  }
  EXPECT_NE(warning.find("make_async_logger"), std::string::npos) << warning;
  EXPECT_EQ(warnings.count(), 1);
}

TEST(JsonLines, ConfigureJsonLoggingCoversEveryLoggerAndRefusesPlainAsync) {
  auto sink = std::make_shared<capture_sink>();
  auto logger = std::make_shared<spdlog::logger>("json-registered", sink);
  spdlog::register_logger(logger);
  aiolocals::configure_json_logging();
  {
    aiolocals::scope fresh;
    aiolocals::request.set(traced_request());
    logger->info("configured");
  }
  EXPECT_EQ(text(parse_line(sink->lines().at(0)), "request_id"), "req-42");

  spdlog::init_thread_pool(64, 1);
  auto plain = spdlog::create_async<capture_sink>("json-refused");
  EXPECT_THROW(aiolocals::configure_json_logging(), aiolocals::configuration_error);
  spdlog::drop("json-refused");
  spdlog::drop("json-registered");
  aiolocals::configure_logging();  // back to the default for the other tests
}

}  // namespace
