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

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aiolocals/asio/co_spawn.hpp"
#include "aiolocals/http/request_id.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/request_tracking.hpp"
#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals {

namespace detail {

// Every value of one header field of a Beast message, as string_views into
// it, in order; no allocation for up to four values.
class header_values {
 public:
  header_values() = default;
  template <class Allocator>
  header_values(const boost::beast::http::basic_fields<Allocator>& fields, std::string_view name) {
    auto [first, last] = fields.equal_range(name);
    for (auto it = first; it != last; ++it) add(it->value());
  }
  header_values(const header_values&) = delete;
  header_values& operator=(const header_values&) = delete;

  void add(std::string_view value) {
    if (count_ < few_.size()) {
      few_[count_] = value;
    } else {
      if (many_.empty()) many_.assign(few_.begin(), few_.end());
      many_.push_back(value);
    }
    ++count_;
  }
  std::span<const std::string_view> all() const noexcept {
    return many_.empty() ? std::span<const std::string_view>(few_.data(), count_)
                         : std::span<const std::string_view>(many_);
  }

 private:
  std::array<std::string_view, 4> few_;
  std::vector<std::string_view> many_;
  std::size_t count_ = 0;
};

// The three fields request tracking reads (the id, traceparent,
// tracestate), collected in one pass over a message's fields: a field Beast
// knows by name is skipped with one compare, the others are told apart by
// length before any case-insensitive compare. (Three equal_range lookups
// cost a third of describe_request.) `id_field` is
// `string_to_field(id_name)`, which a tracked handler looks up once (a
// hashed lookup of its own, not to be paid per request).
class tracking_header_values {
 public:
  template <class Allocator>
  tracking_header_values(const boost::beast::http::basic_fields<Allocator>& fields,
                         std::string_view id_name, boost::beast::http::field id_field) {
    namespace http = boost::beast::http;
    for (const auto& field : fields) {
      if (field.name() != http::field::unknown) {
        if (field.name() == id_field) ids.add(field.value());
        continue;
      }
      const std::string_view name = field.name_string();
      if (id_field == http::field::unknown && name.size() == id_name.size() &&
          boost::beast::iequals(name, id_name)) {
        ids.add(field.value());
      } else if (name.size() == 11 && boost::beast::iequals(name, "traceparent")) {
        parents.add(field.value());
      } else if (name.size() == 10 && boost::beast::iequals(name, "tracestate")) {
        states.add(field.value());
      }
    }
  }
  incoming_headers get() const noexcept { return {ids.all(), parents.all(), states.all()}; }

 private:
  header_values ids, parents, states;
};

// describe_request, given string_to_field(options.header_name).
template <class Body, class Fields>
request_info describe_request_with(const boost::beast::http::request<Body, Fields>& req,
                                   const tracking_options& options,
                                   boost::beast::http::field id_field) {
  const tracking_header_values headers(req, options.header_name, id_field);
  return describe_request(req.method_string(), req.target(), headers.get(), options);
}

}  // namespace detail

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
/// request or a job) with the current request's id (`X-Request-ID`) and W3C
/// `traceparent` (this hop's span as the parent) and `tracestate`, so the
/// called service logs the same id and trace; outside any request, as
/// `options` say. Call it in your client helper before writing the request
/// to make propagation automatic. Cost: three header sets, no other
/// allocation (figures in docs/benchmarks.md). Thread-safety: reads the
/// current context only; `outgoing` is yours.
template <class Body, class Fields>
void propagate(boost::beast::http::request<Body, Fields>& outgoing,
               const propagation_options& options) {
  const request_info* current = request.find();
  std::array<char, traceparent_size> traceparent;
  if (current == nullptr) {
    if (options.start_trace_outside_request) {
      const trace_context root = start_trace();
      outgoing.set("traceparent", format_traceparent(traceparent, root.trace, root.span, root.flags));
      outgoing.erase("tracestate");
    }
    return;
  }
  outgoing.set(options.header_name, current->id);
  if (current->trace.is_valid()) {
    outgoing.set("traceparent", format_traceparent(traceparent, current->trace.trace,
                                                   current->trace.span, current->trace.flags));
    if (!current->trace.tracestate.empty()) {
      outgoing.set("tracestate", current->trace.tracestate);
    } else {
      outgoing.erase("tracestate");
    }
  }
}

/// `propagate` with the default options and id header `header_name`.
template <class Body, class Fields>
void propagate(boost::beast::http::request<Body, Fields>& outgoing,
               std::string_view header_name = "X-Request-ID") {
  propagate(outgoing, propagation_options{header_name});
}

/// RAII form for synchronous handlers (or your own coroutine plumbing):
/// chooses the id and makes a fresh context holding the request's record
/// current on this thread until the scope ends; `stamp(res)` puts the id in
/// a response. For coroutine handlers prefer `track_requests`, which also
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
      : options_(std::move(options)), info_(describe_request(req, options_)) {
    request.set(info_);
  }
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

  /// The record of this request (its id is safe to log).
  const request_info& info() const noexcept { return info_; }
  /// Sets the id header on `res` (any Beast response or fields).
  template <class Message>
  void stamp(Message& res) const {
    res.set(options_.header_name, info_.id);
  }

 private:
  tracking_options options_;
  request_info info_;
  scope scope_;  // a fresh context, entered before `request.set` above
};

namespace detail {

// The chosen id, kept for the echo while the record holds the original:
// inline up to 48 bytes (a UUID, most client ids), so no allocation; 64
// bytes of the tracked coroutine's frame.
class kept_id {
 public:
  explicit kept_id(std::string_view id) : size_(id.size()) {
    char* to = inline_.data();
    if (id.size() > inline_.size()) {
      long_ = std::make_unique<char[]>(id.size());
      to = long_.get();
    }
    std::copy(id.begin(), id.end(), to);
  }
  kept_id(const kept_id&) = delete;
  kept_id& operator=(const kept_id&) = delete;
  std::string_view view() const noexcept { return {long_ ? long_.get() : inline_.data(), size_}; }

 private:
  std::array<char, 48> inline_;
  std::size_t size_;
  std::unique_ptr<char[]> long_;
};

// What tracking keeps of a request while its handler runs. Made by a plain
// function before the first suspension, so that the record's working values
// (the request_info, the header scan) take no room in the tracked
// coroutine's frame: Asio recycles a coroutine frame only up to 1020 bytes
// (255 chunks of 4 in thread_info_base), and a larger frame also evicts the
// handler's frame from the two-entry cache, so that both were allocated
// with malloc for every request.
struct tracked_request {
  kept_id id;
  context request_context;
  unsigned version;
  bool keep_alive;
};

template <class Body, class Fields>
tracked_request start_tracking(const boost::beast::http::request<Body, Fields>& req,
                               const tracking_options& options,
                               boost::beast::http::field id_field) {
  request_info info = describe_request_with(req, options, id_field);
  return tracked_request{kept_id(info.id), context_access::holding(request, std::move(info)),
                         req.version(), req.keep_alive()};
}

template <class Handler>
class tracked_handler {
 public:
  tracked_handler(Handler handler, tracking_options options)
      : handler_(std::move(handler)),
        options_(std::move(options)),
        id_field_(boost::beast::http::string_to_field(options_.header_name)) {}

  template <class Body, class Fields>
  auto operator()(boost::beast::http::request<Body, Fields> req) const
      -> std::invoke_result_t<const Handler&, boost::beast::http::request<Body, Fields>> {
    using awaitable_type =
        std::invoke_result_t<const Handler&, boost::beast::http::request<Body, Fields>>;
    using response_type = typename awaitable_type::value_type;

    tracked_request tracked = start_tracking(req, options_, id_field_);
    std::exception_ptr error;
    try {
      // The handler's response is made straight into an optional in the
      // task's caller, and moved once more, into this coroutine's result (a
      // Beast message costs to move). The call is a statement of its own:
      // its argument, a request, is then no temporary of the co_await and
      // takes no room in this coroutine's frame, which Asio recycles only up
      // to 1020 bytes.
      awaitable_type call = respond_as_task<awaitable_type>(req, tracked);
      response_type res = co_await std::move(call);
      res.set(options_.header_name, tracked.id.view());
      co_return res;
    } catch (...) {
      error = std::current_exception();
    }
    report_exception(tracked, error);
    co_return failure_response<response_type>(tracked, options_.header_name);
  }

 private:
  // Calls on_exception once, in a copy of the request's context: the same
  // values, and free to enter while a child of the request (or another
  // thread) has the request's own context entered. What on_exception
  // itself throws is said on stderr, never thrown out of the request.
  void report_exception(const tracked_request& tracked, const std::exception_ptr& error) const
      noexcept {
    if (!options_.on_exception) return;
    try {
      tracked.request_context.copy().run([&] { options_.on_exception(error); });
    } catch (...) {
      std::string line = "aiolocals: tracking_options::on_exception threw while reporting request ";
      try {
        append_escaped(line, tracked.id.view());
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
      } catch (...) {
      }
    }
  }

  // The handler as a task of its own on a context_executor, its response
  // written straight into an optional (co_spawn's result would move it
  // through three hands). Takes `req` by reference (moved from) so that no
  // copy of it takes room in the caller's frame.
  template <class Awaitable, class Request>
  Awaitable respond_as_task(Request& req, const tracked_request& tracked) const {
    using executor_type = typename Awaitable::executor_type;
    std::optional<typename Awaitable::value_type> res;
    const executor_type ex = co_await boost::asio::this_coro::executor;
    // Completes outside the request's context: on a plain executor, the
    // caller resumes from its queue, not inline in the finished request.
    co_await spawn_with_context(with_context(ex, tracked.request_context),
                                context_access::impl(tracked.request_context),
                                respond_into(res, std::move(req)),
                                boost::asio::use_awaitable_t<executor_type>{});
    if (!res)
      throw std::logic_error("aiolocals: a tracked handler's task ended without a response");
    co_return std::move(*res);
  }

  template <class Request, class Response>
  auto respond_into(std::optional<Response>& res, Request req) const -> boost::asio::awaitable<
      void, typename std::invoke_result_t<const Handler&, Request>::executor_type> {
    res.emplace(co_await handler_(std::move(req)));
  }

  // A 500 that carries the id, for a handler that threw.
  template <class Response>
  static Response failure_response(const tracked_request& tracked, std::string_view header_name) {
    Response failed;
    failed.result(boost::beast::http::status::internal_server_error);
    failed.version(tracked.version);
    failed.keep_alive(tracked.keep_alive);
    failed.body() = {};
    if constexpr (requires { failed.body() = "internal server error\n"; }) {
      failed.body() = "internal server error\n";
    }
    failed.prepare_payload();
    failed.set(header_name, tracked.id.view());
    return failed;
  }

  Handler handler_;
  tracking_options options_;
  boost::beast::http::field id_field_;  // options_.header_name's, if Beast knows it
};

}  // namespace detail

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
