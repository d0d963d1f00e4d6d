// SPDX-License-Identifier: BSL-1.0
// aiolocals/trace/span_record.hpp - what a finished span is, where it goes
// (the span sinks a program installs) and its JSON line. Framework-neutral:
// standard library only. Spans are made by request tracking (one server
// span per request), `propagate` (a client span per outgoing call) and
// `aiolocals::span` blocks (aiolocals/span.hpp); this header is what a
// program configures and what an exporter reads.
//
//   aiolocals::add_span_sink(aiolocals::json_lines_span_sink(stdout));
//   aiolocals::add_span_sink([](const aiolocals::span_record& s) {
//     my_exporter.push(s);                  // bridge to your own exporter
//   });
//
// With no sink installed a span costs its ids only: no clock is read, no
// record is built. Sinks are called on the thread where the span ends,
// once per span, after it ended; a sink that throws is reported on stderr
// (escaped) and the others still run.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals {

/// OpenTelemetry's span kinds that we make: a block of work in this process
/// (internal), a request we serve (server), a call we make (client).
enum class span_kind { internal, server, client };

/// OpenTelemetry's status: unset (no verdict), ok, or error (with a message).
enum class span_status { unset, ok, error };

/// An attribute value: text, an integer, a floating-point number or a flag.
using span_attribute_value = std::variant<std::string, std::int64_t, double, bool>;

/// One attribute. Our keys follow OpenTelemetry's HTTP conventions
/// (`http.request.method`, `url.path`, `server.address`,
/// `http.response.status_code`).
struct span_attribute {
  std::string key;
  span_attribute_value value;
};

/// A finished span, as every sink receives it. Times come from one clock
/// (the steady clock, anchored once to the system clock), so a child's
/// interval always lies inside its parent's when it ran inside it.
struct span_record {
  trace_id trace;
  span_id span;
  span_id parent;          ///< invalid: a root span
  std::uint8_t flags = 0;  ///< the trace's flags (sampled, random)
  std::string name;
  span_kind kind = span_kind::internal;
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  span_status status = span_status::unset;
  std::string status_message;  ///< error only: what failed, as raw text
  std::vector<span_attribute> attributes;
  std::string request_id;  ///< the request or job it ran in; "" outside one
  std::chrono::nanoseconds duration() const noexcept { return end - start; }
};

/// Receives every finished span; called on the thread that ended it, maybe
/// on several threads at once (make it thread-safe).
using span_sink = std::function<void(const span_record&)>;

/// Installs `sink` beside those already installed. Thread-safe, but meant
/// for start-up: a span that ends while sinks change goes to the old set or
/// the new. Cost when a span ends: one atomic load and the sinks' calls.
void add_span_sink(span_sink sink);

/// Removes every sink: spans cost their ids only again. Thread-safe.
void remove_span_sinks() noexcept;

/// Whether any sink is installed (one relaxed atomic load).
bool span_recording_enabled() noexcept;

/// Records only spans of traces whose `sampled` flag is set (the caller's
/// decision, or ours for a trace we start: see trace_context.hpp). Default
/// off: every span is recorded once a sink is installed. Process-wide,
/// thread-safe.
void record_sampled_spans_only(bool only = true) noexcept;

/// Whether a span of a trace with `flags` is recorded now: a sink is
/// installed, and `sampled` is set if record_sampled_spans_only is on.
bool span_recorded(std::uint8_t flags) noexcept;

/// Appends `record` as one JSON object (no newline) with OpenTelemetry's
/// names: `trace_id`, `span_id`, `parent_span_id` (absent for a root),
/// `name`, `kind` ("internal", "server", "client"), `start_time` and
/// `end_time` (RFC 3339 UTC with nanoseconds), `duration_ns`, `status`
/// ({"code":"unset"|"ok"|"error"} plus "message" for an error), `attributes`
/// (numbers stay numbers) and `request_id` when set. Text is escaped by
/// the log lines' writer (log/json.hpp): the output is always valid JSON
/// on one line. No allocation beyond `out`.
void append_span_json(std::string& out, const span_record& record);

/// A sink writing each record as one JSON line through `write_line`
/// (given the line with its '\n'); the line is built in a buffer reused per
/// thread. `write_line` must be thread-safe.
span_sink json_lines_span_sink(std::function<void(std::string_view line)> write_line);

/// A sink writing each record as one JSON line to `out` with one fwrite
/// (stdio locks the stream, so lines never interleave); `out` must outlive
/// the sink.
span_sink json_lines_span_sink(std::FILE* out);

namespace detail {

// Now, on the spans' clock: the steady clock anchored to the system clock
// at first use (one steady-clock read).
std::chrono::system_clock::time_point span_clock_now() noexcept;

// Hands `record` to every installed sink.
void export_span(const span_record& record) noexcept;

}  // namespace detail

}  // namespace aiolocals
