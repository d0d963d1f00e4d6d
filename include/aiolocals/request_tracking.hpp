// SPDX-License-Identifier: BSL-1.0
// aiolocals/request_tracking.hpp - the record request tracking stores for
// an HTTP request, whatever the framework: the id rules of
// aiolocals/http/request_id.hpp and the trace of aiolocals/trace/ put
// together into an `aiolocals::request_info` (aiolocals/request.hpp).
// Standard library only; the Beast glue (aiolocals/beast.hpp) calls it.
//
//   aiolocals::request_info info = aiolocals::describe_request(
//       method, target, {ids, traceparents, tracestates}, options);
//
// Cost: see docs/benchmarks.md (describe_request). Thread-safety: both
// functions are thread-safe.
#pragma once

#include <span>
#include <string_view>

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

}  // namespace aiolocals
