// SPDX-License-Identifier: BSL-1.0
// aiolocals/http/request_id.hpp - the rules for HTTP request ids, whatever
// the HTTP framework: which client id to keep, how to make one, what to log
// of a request target. Framework-neutral: standard library only; the Beast
// glue (aiolocals/beast.hpp) and any other framework's call these.
//
//   std::vector<std::string_view> ids = ...;   // every X-Request-ID value, in order
//   std::string id = aiolocals::choose_request_id(ids, options);
//
// The record tracking stores for a request (describe_request) is made one
// layer up, in aiolocals/request_tracking.hpp.
//
// Costs: see docs/benchmarks.md (choosing a client id, generating one).
// Thread-safety: every function is thread-safe; `tracking_options` is
// copied into what uses it and only read.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aiolocals {

/// True if `id` is 1-128 characters, each from [A-Za-z0-9._:-]: the default
/// rule for accepting a client's request id. O(length), noexcept.
bool is_safe_request_id(std::string_view id) noexcept;

/// The longest id ever kept or echoed, whatever a validator accepts or a
/// generator makes (the default rule allows 128).
inline constexpr std::size_t max_request_id_size = 256;

/// True if `id` reads as something other than a request's id, so that no
/// client or generator may use it: the log flags' markers `-` (no request)
/// and `(unknown)` (a line whose request cannot be known), and the shape of
/// a job's id, `<name>-<16 lowercase hex digits>` (make_job_id). O(length),
/// noexcept.
bool is_reserved_request_id(std::string_view id) noexcept;

/// A fresh request id: a random (v4) UUID in its 36-character lowercase
/// text form. Its 122 random bits come from a per-thread buffer of bytes
/// from the OS CSPRNG (getrandom: Linux only, see README), each zeroed once
/// used and refilled afresh in a forked child, so ids are unpredictable and
/// unique. Cost: tens of nanoseconds, one system call per 1 KiB drawn
/// (figures in docs/benchmarks.md).
std::string generate_request_id();

/// The part of a request-target before any '?' or '#': the query string
/// often carries secrets and is never logged.
std::string_view path_without_query(std::string_view target) noexcept;

/// How requests are tracked. Copied into what uses it.
struct tracking_options {
  /// The header the id is read from and echoed in.
  std::string header_name = "X-Request-ID";
  /// An edge service facing untrusted clients sets these false: the
  /// client's request id and W3C trace context are then ignored (a fresh
  /// id, a new trace), never copied into logs or onward calls.
  bool trust_incoming_request_id = true;
  bool trust_incoming_trace = true;
  /// Whether a client's W3C `baggage` is kept (aiolocals/trace/baggage.hpp):
  /// false drops it, so that nothing a client sends is propagated onward.
  bool trust_incoming_baggage = true;
  /// The baggage keys whose values become log fields of the request (each
  /// must be a valid log field key, aiolocals/log/fields.hpp; checked when
  /// tracking starts, std::invalid_argument naming the key). An allowlist:
  /// a client's other entries are propagated but never logged.
  std::vector<std::string> baggage_log_fields;
  /// Decides whether a client's id is kept. Must be thread-safe. If it
  /// throws, the id is rejected (and the failure said once on stderr).
  std::function<bool(std::string_view)> is_acceptable = is_safe_request_id;
  /// Makes an id when the client's is missing or rejected. Thread-safe. If
  /// it throws or makes an id that `choose_request_id` would not keep from a
  /// client (empty, over max_request_id_size, not printable ASCII, reserved),
  /// `generate_request_id()` is used instead (said once on stderr, the id
  /// escaped and cut short).
  std::function<std::string()> generate = generate_request_id;
  /// Called once, inside the request's context, when the handler throws;
  /// the client gets a 500 that carries the id. Default: one line on
  /// stderr with the id, method, path and `what()`, each escaped as the
  /// log flags escape them (defined with the request record, in
  /// src/request_tracking.cpp).
  std::function<void(std::exception_ptr)> on_exception = report_to_stderr;

  static void report_to_stderr(std::exception_ptr error);
};

/// The id for a request whose `options.header_name` header had the values
/// `header_values` (empty: absent): the client's if there is exactly one
/// distinct value and it is acceptable; otherwise a generated one.
/// Duplicates that agree count as one; duplicates that disagree are
/// rejected. Whatever `options.is_acceptable` accepts or `options.generate`
/// makes, an id that is not printable ASCII (a CR, LF, NUL, any control
/// byte, a byte >= 0x7f: it is echoed in a response header), is longer than
/// max_request_id_size or is reserved (is_reserved_request_id: a marker or
/// a job's id) is never used; a throwing callback counts as a rejection.
/// Never throws but std::bad_alloc.
std::string choose_request_id(std::span<const std::string_view> header_values,
                              const tracking_options& options);

/// Every value of each header request tracking reads, in order.
struct incoming_headers {
  std::span<const std::string_view> request_id;   ///< options.header_name
  std::span<const std::string_view> traceparent;  ///< W3C traceparent
  std::span<const std::string_view> tracestate;   ///< W3C tracestate
  std::span<const std::string_view> baggage{};    ///< W3C baggage
};

}  // namespace aiolocals
