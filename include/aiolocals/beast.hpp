// aiolocals/beast.hpp - request tracking for Boost.Beast HTTP servers: the
// seed's aiohttp middleware with X-Request-ID. Target `aiolocals::beast`.
//
// Beast has no middleware chain, so the tracking wraps the handler your
// session loop already calls:
//
//   auto handler = aiolocals::beast::track_requests(
//       [](http::request<http::string_body> req) -> asio::awaitable<
//           http::response<http::string_body>> { ... });
//   ...
//   auto res = co_await handler(std::move(req));   // in the session loop
//
// For every request, the wrapper
//  - takes the id from `X-Request-ID` (name configurable) only if it is safe
//    (1-128 characters from [A-Za-z0-9._:-] by default, or your validator),
//    otherwise generates a fresh v4 UUID; rejected bytes are never kept;
//  - fills `aiolocals::request` {id, method, path without the query string,
//    kind request} in a fresh context and runs the handler on a
//    `context_executor`, so every resumption of the handler, and everything
//    it spawns with `aiolocals::co_spawn`, sees it;
//  - echoes the id in the response's `X-Request-ID`, also on error
//    responses, and when the handler throws (a 500, the exception reported
//    once through `tracking_options::on_exception`).
//
// Cost per request: header validation (or one UUID, ~100 ns), one context,
// one co_spawn (see the README's benchmark table).
// Thread-safety: a tracked handler may be called from any number of sessions
// and threads at once; options are copied into it and only read.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aiolocals/asio.hpp"
#include "aiolocals/request.hpp"

namespace aiolocals::beast {

/// True if `id` is 1-128 characters, each from [A-Za-z0-9._:-]: the default
/// rule for accepting a client's request id. O(length), noexcept.
bool is_safe_request_id(std::string_view id) noexcept;

/// A fresh request id: a random (v4) UUID in its 36-character text form
/// (Boost.Uuid), its 122 random bits from the OS CSPRNG, fetched 4 KiB per
/// thread at a time (refetched after fork). About 80 ns. Thread-safe.
std::string generate_request_id();

/// The part of a request-target before any '?' or '#': the query string
/// often carries secrets and is never logged.
std::string_view path_without_query(std::string_view target) noexcept;

/// How requests are tracked. Copied into the tracked handler.
struct tracking_options {
  /// The header the id is read from and echoed in.
  std::string header_name = "X-Request-ID";
  /// Decides whether a client's id is kept. Must be thread-safe.
  std::function<bool(std::string_view)> is_acceptable = is_safe_request_id;
  /// Makes an id when the client's is missing or rejected. Thread-safe.
  std::function<std::string()> generate = generate_request_id;
  /// Called once, inside the request's context, when the handler throws;
  /// the client gets a 500 that carries the id. Default: one line on
  /// stderr with the id, method, path and `what()`, each escaped as the
  /// log flags escape them.
  std::function<void(std::exception_ptr)> on_exception = report_to_stderr;

  static void report_to_stderr(std::exception_ptr error);
};

/// The id to use for a request with these headers: the client's, if there is
/// exactly one distinct value for `options.header_name` and it is
/// acceptable; otherwise a generated one. Duplicate headers that agree count
/// as one; duplicates that disagree are rejected. Whatever
/// `options.is_acceptable` accepts or `options.generate` makes, an id that
/// is not printable ASCII (a CR, LF, NUL or any control byte, or a byte
/// >= 0x7f) is replaced by `generate_request_id()`: it is echoed in a
/// response header.
std::string choose_request_id(const boost::beast::http::fields& headers,
                              const tracking_options& options);

/// The record `track_requests` stores for a request: {chosen id, method,
/// path without query, kind request}.
template <class Body, class Fields>
request_info describe_request(const boost::beast::http::request<Body, Fields>& req,
                              const tracking_options& options) {
  return request_info{choose_request_id(req, options), std::string(req.method_string()),
                      std::string(path_without_query(req.target())), request_kind::request};
}

/// RAII form for synchronous handlers (or your own coroutine plumbing):
/// chooses the id and makes a fresh context holding the request's record
/// current on this thread until the scope ends; `stamp(res)` puts the id in
/// a response. For coroutine handlers prefer `track_requests`, which also
/// keeps the context across every resumption.
/// @code
/// aiolocals::beast::request_scope scope(req);
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

template <class Handler>
class tracked_handler {
 public:
  tracked_handler(Handler handler, tracking_options options)
      : handler_(std::move(handler)), options_(std::move(options)) {}

  template <class Body, class Fields>
  auto operator()(boost::beast::http::request<Body, Fields> req) const
      -> std::invoke_result_t<const Handler&, boost::beast::http::request<Body, Fields>> {
    using awaitable_type =
        std::invoke_result_t<const Handler&, boost::beast::http::request<Body, Fields>>;
    using response_type = typename awaitable_type::value_type;
    using executor_type = typename awaitable_type::executor_type;

    request_info info = describe_request(req, options_);
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    context request_context;
    request_context.run([&] { request.set(info); });

    executor_type ex = co_await boost::asio::this_coro::executor;
    std::exception_ptr error;
    response_type res;
    try {
      res = co_await boost::asio::co_spawn(aiolocals::detail::with_context(ex, request_context),
                                           handler_(std::move(req)),
                                           boost::asio::use_awaitable_t<executor_type>{});
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      if (options_.on_exception) {
        request_context.run([&] { options_.on_exception(error); });
      }
      res = response_type{};
      res.result(boost::beast::http::status::internal_server_error);
      res.version(version);
      res.keep_alive(keep_alive);
      res.body() = {};
      if constexpr (requires { res.body() = "internal server error\n"; }) {
        res.body() = "internal server error\n";
      }
      res.prepare_payload();
    }
    res.set(options_.header_name, info.id);
    co_return res;
  }

 private:
  Handler handler_;
  tracking_options options_;
};

}  // namespace detail

/// Wraps `handler` (a callable taking an `http::request<Body, Fields>` by
/// value and returning `asio::awaitable<http::response<...>>`) so that each
/// call is tracked as described in the file comment. The result is called
/// the same way and is copyable if `handler` is; it must outlive every call
/// it makes (keep it beside the acceptor, as the demo does).
/// @code
/// auto tracked = aiolocals::beast::track_requests(handle);
/// auto res = co_await tracked(std::move(req));
/// @endcode
template <class Handler>
detail::tracked_handler<std::decay_t<Handler>> track_requests(Handler&& handler,
                                                              tracking_options options = {}) {
  return {std::forward<Handler>(handler), std::move(options)};
}

}  // namespace aiolocals::beast
