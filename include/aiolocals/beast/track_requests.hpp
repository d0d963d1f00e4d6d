// SPDX-License-Identifier: BSL-1.0
// aiolocals/beast/track_requests.hpp - request tracking for Boost.Beast HTTP
// servers: the seed's aiohttp middleware with X-Request-ID. Target
// `aiolocals::beast` (header-only glue: the rules it applies are the
// framework-neutral ones of aiolocals/http/request_id.hpp).
//
// Beast has no middleware chain, so the tracking wraps the handler your
// connection loop already calls:
//
//   auto handler = aiolocals::track_requests(
//       [](http::request<http::string_body> req) -> asio::awaitable<
//           http::response<http::string_body>> { ... });
//   ...
//   auto res = co_await handler(std::move(req));   // in the connection loop
//
// For every request, the wrapper
//  - takes the id from `X-Request-ID` (name configurable) only if it is safe
//    (1-128 characters from [A-Za-z0-9._:-] by default, or your validator,
//    and always printable ASCII), otherwise generates a fresh v4 UUID;
//    rejected bytes are never kept;
//  - fills `aiolocals::request` {id, method, path without the query string,
//    kind request} in a fresh context and runs the handler in it, as a task
//    of its own on a `context_executor`, so every resumption of the
//    handler, and everything it spawns, sees it, however the connection's
//    loop was started;
//  - keeps the request's W3C `baggage` headers in that context
//    (aiolocals/trace/baggage.hpp) unless tracking_options says clients
//    are not trusted with it, and makes the entries its
//    `baggage_log_fields` names log fields of the request;
//  - echoes the id in the response's `X-Request-ID`, also on error
//    responses, and when the handler throws (a 500, the exception reported
//    once through `tracking_options::on_exception`, in a copy of the
//    request's context; nothing escapes the wrapper);
//  - returns to its caller in the caller's own context: a connection loop
//    on a plain executor resumes from that executor's queue, never inside
//    the finished request's context.
//
// Cost per request: header validation (or one generated id), one context
// and one co_spawn; figures in docs/benchmarks.md.
// Thread-safety: a tracked handler may be called from any number of connections
// and threads at once; options are copied into it and only read.
#pragma once

#include <array>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aiolocals/beast/detail/tracking.hpp"
#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/request_tracking.hpp"
#include "aiolocals/span.hpp"
#include "aiolocals/trace/baggage.hpp"
#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals {

/// `choose_request_id` (aiolocals/http/request_id.hpp) over every value of
/// the `options.header_name` field of `headers`, in order.
template <class Allocator>
std::string choose_request_id(const boost::beast::http::basic_fields<Allocator>& headers,
                              const tracking_options& options) {
  const detail::header_values ids(headers, options.header_name);
  return choose_request_id(ids.all(), options);
}

/// The record `track_requests` stores for a request: {chosen id, method,
/// path without query, kind request, its W3C trace context (the caller's
/// `traceparent` continued with a span of our own, or a new trace)}.
template <class Body, class Fields>
request_info describe_request(const boost::beast::http::request<Body, Fields>& req,
                              const tracking_options& options) {
  return detail::describe_request_with(req, options,
                                       boost::beast::http::string_to_field(options.header_name));
}

/// How `propagate` stamps an outgoing request.
struct propagation_options {
  /// The request-id header to set (the same name the callee tracks).
  std::string_view header_name = "X-Request-ID";
  /// Outside any request or job: false (the default) stamps nothing; true
  /// starts a trace at this call (a fresh `traceparent`, no id), so the
  /// callee's lines of a call made at start-up or from a plain thread
  /// still share one trace id with each other.
  bool start_trace_outside_request = false;
};

/// Stamps an outgoing request (a Beast client call made while handling a
/// request, a job or a span block) and opens its client span: sets the
/// current request's id (`X-Request-ID`), W3C `traceparent` with the new
/// client span's id as the parent-id (each call its own, so the callee's
/// `parent_span_id` names a span this process records) and `tracestate`;
/// outside any request or span, as `options` say (an empty client_span
/// when nothing is stamped). Keep the result until the response arrives
/// and call `end(res.result_int())` on it: that records the call's
/// duration and status (attributes `http.request.method`,
/// `server.address` from the Host header, `url.path` without the query,
/// `http.response.status_code`). The current baggage, if any, is set as
/// the `baggage` header (also outside any request); with none, a
/// `baggage` header already on `outgoing` is left alone. Call it in your
/// client helper:
/// @code
/// auto call = aiolocals::propagate(req);
/// auto res = co_await send(stream, req);
/// call.end(res.result_int());
/// @endcode
/// Cost: an id and three header sets; the attributes only when a span sink
/// records the span (figures in docs/benchmarks.md). Thread-safety: reads
/// the current context only; `outgoing` is yours.
template <class Body, class Fields>
[[nodiscard("keep the client span until the response arrives, then call end(status)")]]
client_span propagate(boost::beast::http::request<Body, Fields>& outgoing,
                      const propagation_options& options) {
  const request_info* current = request.find();
  if (const baggage& sent = current_baggage(); !sent.empty()) {
    outgoing.set("baggage", sent.text());
  }
  if (current == nullptr && !options.start_trace_outside_request &&
      !current_span().is_valid()) {
    return {};
  }
  client_span call(std::string_view(outgoing.method_string()));
  if (call.recorded()) detail::describe_client_call(call, outgoing);
  const span_context ids = call.ids();
  std::array<char, traceparent_size> traceparent;
  outgoing.set("traceparent", format_traceparent(traceparent, ids.trace, ids.span, ids.flags));
  if (current != nullptr && current->trace.trace == ids.trace && !current->trace.tracestate.empty()) {
    outgoing.set("tracestate", current->trace.tracestate);
  } else {
    outgoing.erase("tracestate");
  }
  if (current != nullptr) outgoing.set(options.header_name, current->id);
  return call;
}

/// `propagate` with the default options and id header `header_name`.
template <class Body, class Fields>
[[nodiscard("keep the client span until the response arrives, then call end(status)")]]
client_span propagate(boost::beast::http::request<Body, Fields>& outgoing,
                      std::string_view header_name = "X-Request-ID") {
  return propagate(outgoing, propagation_options{header_name});
}

/// RAII form for synchronous handlers (or your own coroutine plumbing):
/// chooses the id and makes a fresh context holding the request's record
/// current on this thread until the scope ends; `stamp(res)` puts the id in
/// a response and ends the request's server span with its status (a scope
/// that ends unstamped ends it as cancelled). For coroutine handlers prefer `track_requests`, which also
/// keeps the context across every resumption.
/// @code
/// aiolocals::request_scope scope(req);
/// auto res = handle_synchronously(req);   // logs carry the id
/// scope.stamp(res);
/// @endcode
/// Not copyable or movable; destroy it on the thread that made it, and do
/// not hold it across co_await (as for `aiolocals::scope`, the adapter then
/// throws context_error at the suspension; use `track_requests`).
class request_scope {
 public:
  template <class Body, class Fields>
  explicit request_scope(const boost::beast::http::request<Body, Fields>& req,
                         tracking_options options = {})
      : options_((check_tracking_options(options), std::move(options))),
        info_(describe_request(req, options_)) {
    request.set(info_);
    const detail::header_values baggages(req, "baggage");
    adopt_request_baggage(baggages.all(), options_);
  }
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

  /// The record of this request (its id is safe to log).
  const request_info& info() const noexcept { return info_; }
  /// Sets the id header on `res` (any Beast response or fields).
  template <class Message>
  void stamp(Message& res) {
    res.set(options_.header_name, info_.id);
    detail::end_server_span(server_, res.result_int());
  }

 private:
  tracking_options options_;
  request_info info_;
  detail::open_span server_ = detail::open_server_span(info_);
  scope scope_;  // a fresh context, entered before `request.set` above
};


/// Wraps `handler` (a callable taking an `http::request<Body, Fields>` by
/// value and returning `asio::awaitable<http::response<...>>`) so that each
/// call is tracked as described in the file comment. The result is called
/// the same way and is copyable if `handler` is; it must outlive every call
/// it makes (keep it beside the acceptor, as the demo does).
/// @code
/// auto tracked = aiolocals::track_requests(handle);
/// auto res = co_await tracked(std::move(req));
/// @endcode
template <class Handler>
detail::tracked_handler<std::decay_t<Handler>> track_requests(Handler&& handler,
                                                              tracking_options options = {}) {
  return {std::forward<Handler>(handler), std::move(options)};
}

}  // namespace aiolocals
