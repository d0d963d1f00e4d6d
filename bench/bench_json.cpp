// SPDX-License-Identifier: BSL-1.0
// JSON log lines: aiolocals::json_formatter (fmt buffer + our escaping)
// against spdlog's plain pattern line (the baseline a service logs today),
// and against the same JSON object written with Boost.JSON and with
// nlohmann-json, each as a spdlog formatter, all through a sink that really
// formats (spdlog's null_sink never does), inside
// the same traced request.
#include <fmt/chrono.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/src.hpp>
#include <boost/json/value.hpp>
#include <nlohmann/json.hpp>

#include "aiolocals/request.hpp"
#include "aiolocals/spdlog.hpp"
#include "bench_main.hpp"
#include "discarding_sink.hpp"

namespace {

std::string rfc3339(spdlog::log_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:09}Z", seconds, nanos);
}

// The object json_formatter writes, built as a `Document` of a JSON
// library (both spell a member `line["key"] = value`).
template <class Document>
Document document_of(const spdlog::details::log_msg& msg) {
  Document line;
  line["time"] = rfc3339(msg.time);
  line["level"] = std::string_view(spdlog::level::to_string_view(msg.level).data());
  line["logger"] = std::string_view(msg.logger_name.data(), msg.logger_name.size());
  line["message"] = std::string_view(msg.payload.data(), msg.payload.size());
  if (const auto* r = aiolocals::request.find()) {
    line["trace_id"] = r->trace.trace.to_hex();
    line["span_id"] = r->trace.span.to_hex();
    line["parent_span_id"] = r->trace.parent.to_hex();
    line["request_id"] = r->id;
    line["method"] = r->method;
    line["path"] = r->path;
  }
  return line;
}

// A spdlog formatter writing document_of<Document>(msg) with `serialise`:
// Boost.JSON's serialize (which passes invalid UTF-8 through: it does
// less), nlohmann-json's dump with invalid UTF-8 replaced as ours does.
template <class Document, std::string (*serialise)(const Document&)>
class library_json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string text = serialise(document_of<Document>(msg));
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<formatter> clone() const override {
    return std::make_unique<library_json_formatter>();
  }
};
std::string boost_json_text(const boost::json::object& line) { return boost::json::serialize(line); }
std::string nlohmann_text(const nlohmann::ordered_json& line) {
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
using boost_json_formatter = library_json_formatter<boost::json::object, boost_json_text>;
using nlohmann_formatter = library_json_formatter<nlohmann::ordered_json, nlohmann_text>;

void log_lines(benchmark::State& state, std::unique_ptr<spdlog::formatter> formatter) {
  aiolocals::scope scope;
  aiolocals::request_info info{"4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "GET", "/api/orders/42",
                               aiolocals::request_kind::request};
  const std::vector<std::string_view> parents{
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  info.trace = aiolocals::continue_or_start_trace(parents, {});
  aiolocals::request.set(std::move(info));
  auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<discarding_sink>());
  logger->set_formatter(std::move(formatter));
  for (auto _ : state) logger->info("order {} shipped to {}", 42, "warehouse-7");
}

void BM_PlainPatternLine(benchmark::State& state) {
  log_lines(state, std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v"));
}
BENCHMARK(BM_PlainPatternLine);
void BM_JsonLineWithContext(benchmark::State& state) {
  log_lines(state, aiolocals::make_json_formatter());
}
BENCHMARK(BM_JsonLineWithContext);
void BM_JsonLineWithContextBoostJson(benchmark::State& state) {
  log_lines(state, std::make_unique<boost_json_formatter>());
}
BENCHMARK(BM_JsonLineWithContextBoostJson);
void BM_JsonLineWithContextNlohmann(benchmark::State& state) {
  log_lines(state, std::make_unique<nlohmann_formatter>());
}
BENCHMARK(BM_JsonLineWithContextNlohmann);

}  // namespace

AIOLOCALS_BENCHMARK_MAIN()
