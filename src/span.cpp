// SPDX-License-Identifier: BSL-1.0
// Spans: the active-span local, current_span, open_span and client_span.
#include "aiolocals/span.hpp"

#include <string>
#include <utility>

#include "diagnostics.hpp"

namespace aiolocals {

local<span_context> detail::active_span{"aiolocals::span (active span)"};

namespace {
// The innermost span block's ids, else the request's own span, else none.
span_context span_of(const span_context* active, const request_info* current) noexcept {
  if (active != nullptr) return *active;
  if (current != nullptr && current->trace.is_valid()) {
    const trace_context& trace = current->trace;
    return {trace.trace, trace.span, trace.parent, trace.flags};
  }
  return {};
}
}  // namespace

span_context current_span() noexcept {
  const span_context* active = detail::active_span.find();
  return span_of(active, active != nullptr ? nullptr : request.find());
}

span_context current_span(const context& ctx) noexcept {
  const span_context* active = ctx.find(detail::active_span);
  return span_of(active, active != nullptr ? nullptr : ctx.find(request));
}

namespace detail {
namespace {

span_context child_of_current() {
  const span_context parent = current_span();
  if (!parent.is_valid()) {
    const trace_context started = start_trace();
    return {started.trace, started.span, {}, started.flags};
  }
  return {parent.trace, generate_span_id(), parent.span, parent.flags};
}

std::string_view current_request_id() noexcept {
  const request_info* current = request.find();
  return current != nullptr ? std::string_view(current->id) : std::string_view();
}

}  // namespace

open_span::open_span(std::string_view name, span_kind kind, std::vector<span_attribute> attributes)
    : open_span(child_of_current(), name, kind, std::move(attributes), current_request_id()) {}

open_span::open_span(const span_context& ids, std::string_view name, span_kind kind,
                     std::vector<span_attribute> attributes, std::string_view request_id)
    : ids_(ids) {
  if (!span_recorded(ids.flags)) return;  // no sink: the ids are all a span costs
  record_ = std::make_unique<span_record>();
  record_->trace = ids.trace;
  record_->span = ids.span;
  record_->parent = ids.parent;
  record_->flags = ids.flags;
  record_->name = name;
  record_->kind = kind;
  record_->attributes = std::move(attributes);
  record_->request_id = request_id;
  record_->start = span_clock_now();
}

void open_span::add_attribute(std::string key, span_attribute_value value) {
  if (record_ && !ended_) record_->attributes.push_back({std::move(key), std::move(value)});
}

void open_span::end(span_status status, std::string_view message) noexcept {
  if (ended_) return;
  ended_ = true;
  if (!record_) return;
  record_->end = span_clock_now();
  record_->status = status;
  try {
    if (status == span_status::error) record_->status_message = message;
  } catch (...) {
  }
  export_span(*record_);
  record_.reset();
}

void open_span::fail(const std::exception_ptr& error) noexcept {
  if (ended_) return;
  if (!record_) {
    ended_ = true;
    return;
  }
  std::string message;
  try {
    message = what_of(error);
  } catch (...) {
  }
  end(span_status::error, message);
}

context context_for_span(const span_context& ids) {
  return context_access::copy_of_current_holding(active_span, ids);
}

}  // namespace detail

void client_span::end(unsigned status_code) noexcept {
  if (!span_) return;
  if (!span_->recorded()) {  // nothing to describe: no attribute, no message to build
    span_->end(status_code >= 400 ? span_status::error : span_status::ok);
    return;
  }
  try {
    span_->add_attribute("http.response.status_code", static_cast<std::int64_t>(status_code));
  } catch (...) {
  }
  if (status_code >= 400) {
    std::string message;
    try {
      message = "HTTP " + std::to_string(status_code);
    } catch (...) {
    }
    span_->end(span_status::error, message);
  } else {
    span_->end(span_status::ok);
  }
}

}  // namespace aiolocals
