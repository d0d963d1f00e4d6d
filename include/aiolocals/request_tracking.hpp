// SPDX-License-Identifier: BSL-1.0
// aiolocals/request_tracking.hpp - the record request tracking stores for
// an HTTP request, whatever the framework: the id rules of
// aiolocals/http/request_id.hpp and the trace of aiolocals/trace/ put
// together into an `aiolocals::request_info` (aiolocals/request.hpp).
// Standard library only; the Beast glue (aiolocals/beast.hpp) calls it.
//
//   aiolocals::request_info info = aiolocals::describe_request(
//       method, target, {ids, traceparents, tracestates, baggages}, options);
//   aiolocals::context ctx = aiolocals::make_request_context(
//       std::move(info), baggages, options);   // run the handler in it
//
// Cost: see docs/benchmarks.md (describe_request). Thread-safety: both
// functions are thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "aiolocals/context.hpp"
#include "aiolocals/http/request_id.hpp"
#include "aiolocals/request.hpp"

namespace aiolocals {

/// The record request tracking stores: {chosen id, method, path without
/// the query, kind request, the caller's trace continued with a span of
/// our own or a new trace} (see continue_or_start_trace). Never throws but
/// std::bad_alloc.
request_info describe_request(std::string_view method, std::string_view target,
                              const incoming_headers& headers, const tracking_options& options);

/// As above for a request whose trace headers are unknown: a new trace.
request_info describe_request(std::string_view method, std::string_view target,
                              std::span<const std::string_view> header_values,
                              const tracking_options& options);

/// The context a request's handler runs in: a fresh one holding `info` as
/// `aiolocals::request`, the baggage of the `baggage` header values
/// `baggage_headers` (when options.trust_incoming_baggage) and, as log
/// fields, the entries of that baggage whose keys options.baggage_log_fields
/// names. Made without entering it. Throws std::invalid_argument if a key
/// of options.baggage_log_fields is not a valid log field key (see
/// check_tracking_options). Cost: one allocation for the record; parsing
/// and one table only when baggage arrives.
context make_request_context(request_info info, std::span<const std::string_view> baggage_headers,
                             const tracking_options& options);

/// As make_request_context, into the current context (what a synchronous
/// request scope does after its `request.set`).
void adopt_request_baggage(std::span<const std::string_view> baggage_headers,
                           const tracking_options& options);

/// Throws std::invalid_argument, naming the key and the rule, if `options`
/// cannot be used: a baggage_log_fields key that is not a valid log field
/// key. Called where tracking starts (track_requests, request_scope).
void check_tracking_options(const tracking_options& options);

}  // namespace aiolocals
