// SPDX-License-Identifier: BSL-1.0
// aiolocals/spdlog/json_formatter.hpp - spdlog lines as JSON objects, one
// per line, with the request's ids under OpenTelemetry's names: what a log
// collector (Vector, Fluent Bit, the OpenTelemetry Collector's filelog
// receiver, Loki, Elasticsearch) ingests without a parsing rule. Target
// `aiolocals::spdlog`.
//
//   aiolocals::configure_json_logging();   // every logger, one call
//   spdlog::info("charged {}", 42);
//   // {"time":"2026-11-28T10:00:00.123456789Z","level":"info","logger":"",
//   //  "message":"charged 42","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
//   //  "span_id":"00f067aa0ba902b7","parent_span_id":"b7ad6b7169203331",
//   //  "request_id":"8e2c...","method":"GET","path":"/charge"}
//
// Fields, in this order: `time` (RFC 3339, UTC, nanoseconds), `level`
// (spdlog's name: trace, debug, info, warning, error, critical), `logger`,
// `message`; then, inside a request or job, `trace_id` and `span_id`
// (lowercase hex, as OpenTelemetry's log data model names them; absent when
// the record has no trace), `parent_span_id` (the caller's span, when the
// trace came from a caller), `request_id`, and `method` and `path` for an
// HTTP request or `job` (its name) for a job. Outside any request or job
// there are no context fields. Where the line's request cannot be known
// (see flags.hpp: a plain spdlog::async_logger, a stored copy such as a
// dump_backtrace replay or a ringbuffer_sink read later),
// the line carries `"request_id":"(unknown)"` and nothing else of a
// request, and the logger's error handler is told once.
//
// Every string is escaped by `append_json_escaped` (aiolocals/log/json.hpp):
// whatever a message or a client's path holds, the line is one valid JSON
// object on one line, and ill-formed UTF-8 becomes U+FFFD.
//
// Cost: see docs/benchmarks.md (against spdlog's plain pattern line, both
// formatted). Thread-safety: as spdlog's pattern_formatter (one instance
// per sink; spdlog calls it under the sink's lock).
#pragma once

#include <spdlog/details/os.h>
#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace aiolocals {

/// A spdlog formatter writing each line as one JSON object (above).
class json_formatter final : public ::spdlog::formatter {
 public:
  /// `eol` ends every line, as pattern_formatter's does.
  explicit json_formatter(std::string eol = ::spdlog::details::os::default_eol);

  /// Appends `msg` as one JSON object and the end of line to `dest`.
  void format(const ::spdlog::details::log_msg& msg, ::spdlog::memory_buf_t& dest) override;
  /// A fresh formatter with the same end of line.
  std::unique_ptr<::spdlog::formatter> clone() const override;

 private:
  std::string eol_;
  long long cached_second_ = -1;  // the second whose date-time text is cached
  char cached_text_[20] = {};     // "YYYY-MM-DDTHH:MM:SS"
};

/// A JSON formatter for `logger->set_formatter(...)` (also for a logger
/// made by `aiolocals::make_async_logger`, which formats inside each
/// line's context).
std::unique_ptr<json_formatter> make_json_formatter();

/// `configure_logging` with JSON lines: gives the default logger, every
/// registered logger and loggers created later through spdlog's factories a
/// json_formatter, keeping sinks and levels. Throws configuration_error,
/// changing nothing, if a registered logger is a plain spdlog::async_logger
/// (its lines would have no ids). Thread-safe (spdlog's registry lock).
void configure_json_logging();

}  // namespace aiolocals
