// SPDX-License-Identifier: BSL-1.0
// One log line with the request id and path flags against the same line
// without them, through a sink that really formats (spdlog's null_sink never
// formats), and against Boost.Log carrying
// the id in a scoped thread attribute; plus the formatter alone.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/core/null_deleter.hpp>
#include <boost/log/attributes/constant.hpp>
#include <boost/log/attributes/scoped_attribute.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <ostream>
#include <streambuf>

#include "aiolocals/boost_log.hpp"
#include "aiolocals/log/fields.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/spdlog.hpp"
#include "bench_main.hpp"
#include "discarding_sink.hpp"

namespace {

constexpr const char* plain_pattern = "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v";

void enter_request(aiolocals::scope&) {
  aiolocals::request.set({"4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "GET", "/api/orders/42",
                          aiolocals::request_kind::request});
}

void log_lines(benchmark::State& state, const char* pattern) {
  aiolocals::scope scope;
  enter_request(scope);
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(aiolocals::make_formatter(pattern));
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}
void BM_SpdlogLineWithoutRequestFlags(benchmark::State& state) { log_lines(state, plain_pattern); }
// The default pattern: "[%Q]", the tag in one flag.
void BM_SpdlogLineWithRequestFlags(benchmark::State& state) {
  log_lines(state, aiolocals::default_log_pattern);
}
// The same bytes from the two separate flags, "[%U#%q]".
void BM_SpdlogLineWithSeparateRequestFlags(benchmark::State& state) {
  log_lines(state, "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%U#%q] %v");
}
// The same bytes as the flags print, as literal text: separates the cost of
// the longer line from the cost of looking the fields up.
void BM_SpdlogLineWithSameTextLiteral(benchmark::State& state) {
  log_lines(
      state,
      "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [/api/orders/42#4bf92f35-77b3-4da6-a3ce-929d0e0e4736] "
      "%v");
}
// The floor of spdlog's custom-flag mechanism: two custom flags that
// append the same bytes as ours, with no lookup and no check (a virtual
// call, spdlog's padding test and an append each).
template <std::size_t N>
class constant_flag final : public spdlog::custom_flag_formatter {
 public:
  explicit constant_flag(const char (&text)[N]) : text_(text) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    dest.append(text_, text_ + N - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<constant_flag>(*this);
  }

 private:
  const char* text_;
};
void BM_SpdlogLineWithTwoConstantCustomFlags(benchmark::State& state) {
  aiolocals::scope scope;
  enter_request(scope);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<constant_flag<15>>('1', "/api/orders/42");
  formatter->add_flag<constant_flag<37>>('2', "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
  formatter->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%1#%2] %v");
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(std::move(formatter));
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}
// The same floor for the default pattern's one flag (%Q).
void BM_SpdlogLineWithOneConstantCustomFlag(benchmark::State& state) {
  aiolocals::scope scope;
  enter_request(scope);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<constant_flag<52>>('1', "/api/orders/42#4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
  formatter->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%1] %v");
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(std::move(formatter));
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}
BENCHMARK(BM_SpdlogLineWithOneConstantCustomFlag);

// Log fields (%k): the id plus three fields, against the id only and
// against the same bytes as literal text.
void log_lines_with_fields(benchmark::State& state, const char* pattern, bool fields) {
  aiolocals::scope scope;
  enter_request(scope);
  if (fields) {
    aiolocals::set_log_field("tenant", "acme");
    aiolocals::set_log_field("user_id", 1234567);
    aiolocals::set_log_field("beta", true);
  }
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(aiolocals::make_formatter(pattern));
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}
void BM_SpdlogLineIdOnly(benchmark::State& state) {
  log_lines_with_fields(state, "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%q] %v", false);
}
void BM_SpdlogLineIdAndThreeFields(benchmark::State& state) {
  log_lines_with_fields(state, "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%q]%k %v", true);
}
void BM_SpdlogLineIdAndThreeFieldsAsLiteralText(benchmark::State& state) {
  log_lines_with_fields(state,
                        "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%q] tenant=acme user_id=1234567 "
                        "beta=true %v",
                        false);
}
BENCHMARK(BM_SpdlogLineIdOnly);
BENCHMARK(BM_SpdlogLineIdAndThreeFields);
BENCHMARK(BM_SpdlogLineIdAndThreeFieldsAsLiteralText);

void json_lines(benchmark::State& state, bool fields) {
  aiolocals::scope scope;
  enter_request(scope);
  if (fields) {
    aiolocals::set_log_field("tenant", "acme");
    aiolocals::set_log_field("user_id", 1234567);
    aiolocals::set_log_field("beta", true);
  }
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(aiolocals::make_json_formatter());
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}
void BM_JsonLineIdOnly(benchmark::State& state) { json_lines(state, false); }
void BM_JsonLineIdAndThreeFields(benchmark::State& state) { json_lines(state, true); }
BENCHMARK(BM_JsonLineIdOnly);
BENCHMARK(BM_JsonLineIdAndThreeFields);
BENCHMARK(BM_SpdlogLineWithoutRequestFlags);
BENCHMARK(BM_SpdlogLineWithRequestFlags);
BENCHMARK(BM_SpdlogLineWithSeparateRequestFlags);
BENCHMARK(BM_SpdlogLineWithSameTextLiteral);
BENCHMARK(BM_SpdlogLineWithTwoConstantCustomFlags);

// The formatter alone, on a pre-built message: the flags' own cost.
void format_only(benchmark::State& state, const char* pattern) {
  aiolocals::scope scope;
  enter_request(scope);
  auto formatter = aiolocals::make_formatter(pattern);
  spdlog::details::log_msg msg("bench", spdlog::level::info, "order 42 shipped to warehouse-7");
  spdlog::memory_buf_t buffer;
  for (auto _ : state) {
    buffer.clear();
    formatter->format(msg, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
}
void BM_FormatWithoutRequestFlags(benchmark::State& state) { format_only(state, plain_pattern); }
void BM_FormatWithRequestFlags(benchmark::State& state) {
  format_only(state, aiolocals::default_log_pattern);
}
BENCHMARK(BM_FormatWithoutRequestFlags);
BENCHMARK(BM_FormatWithRequestFlags);

// Boost.Log baseline: the id in a scoped thread attribute (what services do
// today), formatted by a text backend into a stream that drops the bytes.
// Caveat: BOOST_LOG_SCOPED_THREAD_TAG does nothing
// if the attribute already exists on the thread, and is thread-bound, so it
// is wrong for coroutines; it is measured only as the cost people pay today.
struct discarding_buffer : std::streambuf {
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

void BM_BoostLogLineWithScopedThreadTag(benchmark::State& state) {
  namespace logging = boost::log;
  namespace expr = boost::log::expressions;
  static discarding_buffer buffer;
  static std::ostream discard(&buffer);
  auto backend = boost::make_shared<logging::sinks::text_ostream_backend>();
  backend->add_stream(boost::shared_ptr<std::ostream>(&discard, boost::null_deleter()));
  auto sink =
      boost::make_shared<logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>>(
          backend);
  sink->set_formatter(expr::stream << "["
                                   << expr::format_date_time<boost::posix_time::ptime>(
                                          "TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                                   << "] [" << expr::attr<std::string>("RequestPath") << "#"
                                   << expr::attr<std::string>("RequestID") << "] "
                                   << expr::smessage);
  logging::core::get()->add_sink(sink);
  logging::add_common_attributes();
  logging::sources::logger logger;
  BOOST_LOG_SCOPED_THREAD_TAG("RequestID", std::string("4bf92f35-77b3-4da6-a3ce-929d0e0e4736"));
  BOOST_LOG_SCOPED_THREAD_TAG("RequestPath", std::string("/api/orders/42"));
  for (auto _ : state) {
    BOOST_LOG(logger) << "order " << 42 << " shipped to "
                      << "warehouse-7";
  }
  logging::core::get()->remove_sink(sink);
}
BENCHMARK(BM_BoostLogLineWithScopedThreadTag);

// The same record and formatter with our attributes (aiolocals::boost_log)
// reading the task's request instead of two thread tags.
void BM_BoostLogLineWithOurAttributes(benchmark::State& state) {
  namespace logging = boost::log;
  namespace expr = boost::log::expressions;
  namespace alb = aiolocals::boost_log;
  static discarding_buffer buffer;
  static std::ostream discard(&buffer);
  auto backend = boost::make_shared<logging::sinks::text_ostream_backend>();
  backend->add_stream(boost::shared_ptr<std::ostream>(&discard, boost::null_deleter()));
  auto sink =
      boost::make_shared<logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>>(
          backend);
  sink->set_formatter(expr::stream << "["
                                   << expr::format_date_time<boost::posix_time::ptime>(
                                          "TimeStamp", "%Y-%m-%d %H:%M:%S.%f")
                                   << "] [" << alb::path << "#" << alb::request_id << "] "
                                   << expr::smessage);
  logging::core::get()->add_sink(sink);
  logging::add_common_attributes();
  aiolocals::configure_boost_log(state.range(0) == 2 ? aiolocals::boost_log_attributes::request_id |
                                                         aiolocals::boost_log_attributes::path
                                                   : aiolocals::boost_log_attributes::all);
  aiolocals::scope scope;
  enter_request(scope);
  logging::sources::logger logger;
  for (auto _ : state) {
    BOOST_LOG(logger) << "order " << 42 << " shipped to "
                      << "warehouse-7";
  }
  logging::core::get()->remove_sink(sink);
  // The next benchmark's core has none of ours: remove each by name.
  for (const char* name : {"RequestID", "Method", "Path", "TraceID", "SpanID", "LogFields"}) {
    auto found = logging::core::get()->add_global_attribute(name, logging::attributes::constant<int>(0));
    logging::core::get()->remove_global_attribute(found.first);
  }
}
// Arg: 2 registers the two attributes the formatter prints (as the tag
// baseline has two tags); 6 registers all six.
BENCHMARK(BM_BoostLogLineWithOurAttributes)->Arg(2)->Arg(6);
// The baseline with six tags: what carrying the same six values per thread
// costs.
void BM_BoostLogLineWithSixScopedThreadTags(benchmark::State& state) {
  BOOST_LOG_SCOPED_THREAD_TAG("Method", std::string("GET"));
  BOOST_LOG_SCOPED_THREAD_TAG("TraceID", std::string("4bf92f3577b34da6a3ce929d0e0e4736"));
  BOOST_LOG_SCOPED_THREAD_TAG("SpanID", std::string("00f067aa0ba902b7"));
  BOOST_LOG_SCOPED_THREAD_TAG("LogFields", std::string(" tenant=acme"));
  BM_BoostLogLineWithScopedThreadTag(state);
}
BENCHMARK(BM_BoostLogLineWithSixScopedThreadTags);

}  // namespace

AIOLOCALS_BENCHMARK_MAIN()
