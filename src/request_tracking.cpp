// SPDX-License-Identifier: BSL-1.0
// The record request tracking stores, and the default report of a handler
// that threw (it prints that record): the layer above the request-id rules
// and the trace context.
#include "aiolocals/request_tracking.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include "aiolocals/log/escape.hpp"
#include "aiolocals/trace/trace_context.hpp"
#include "diagnostics.hpp"

namespace aiolocals {

namespace detail {

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace detail

request_info describe_request(std::string_view method, std::string_view target,
                              const incoming_headers& headers, const tracking_options& options) {
  return request_info{choose_request_id(headers.request_id, options), std::string(method),
                      std::string(path_without_query(target)), request_kind::request,
                      continue_or_start_trace(headers.traceparent, headers.tracestate,
                                              options.trust_incoming_trace)};
}

request_info describe_request(std::string_view method, std::string_view target,
                              std::span<const std::string_view> header_values,
                              const tracking_options& options) {
  return describe_request(method, target, incoming_headers{header_values, {}, {}}, options);
}

void tracking_options::report_to_stderr(std::exception_ptr error) {
  const std::string what = detail::what_of(error);
  const request_info* current = request.find();
  std::string line = "aiolocals: unhandled exception in request ";
  if (current != nullptr) {
    append_escaped(line, current->id);
    line += ' ';
    append_escaped(line, current->method);
    line += ' ';
    append_escaped(line, current->path);
  }
  line += ": ";
  append_escaped(line, what);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace aiolocals
