// SPDX-License-Identifier: BSL-1.0
// The record request tracking stores, and the default report of a handler
// that threw (it prints that record): the layer above the request-id rules
// and the trace context.
#include "aiolocals/request_tracking.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "aiolocals/local.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/fields.hpp"
#include "aiolocals/trace/baggage.hpp"
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

void check_tracking_options(const tracking_options& options) {
  for (const std::string& key : options.baggage_log_fields) {
    if (is_valid_log_field_key(key)) continue;
    std::string shown;
    append_escaped(shown, std::string_view(key).substr(0, 80));
    throw std::invalid_argument("aiolocals: tracking_options::baggage_log_fields names '" + shown +
                                "', which is not a valid log field key (1 to 64 characters of "
                                "A-Z a-z 0-9 _ . -, the first a letter or '_', not one of the "
                                "JSON line's own members)");
  }
}

void adopt_request_baggage(std::span<const std::string_view> baggage_headers,
                           const tracking_options& options) {
  if (!options.trust_incoming_baggage || baggage_headers.empty()) return;
  check_tracking_options(options);
  baggage incoming = parse_baggage(baggage_headers);
  if (incoming.empty()) return;
  for (const std::string& key : options.baggage_log_fields) {
    if (const baggage_entry* entry = incoming.find(key)) set_log_field(key, entry->value);
  }
  set_current_baggage(std::move(incoming));
}

context make_request_context(request_info info, std::span<const std::string_view> baggage_headers,
                             const tracking_options& options) {
  context ctx = detail::context_access::holding(request, std::move(info));
  if (options.trust_incoming_baggage && !baggage_headers.empty()) {
    ctx.run([&] { adopt_request_baggage(baggage_headers, options); });
  }
  return ctx;
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
