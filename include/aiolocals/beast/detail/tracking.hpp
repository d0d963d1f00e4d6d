// SPDX-License-Identifier: BSL-1.0
// aiolocals/beast/detail/tracking.hpp - internal: the machinery behind
// aiolocals/beast/track_requests.hpp (reading the tracking headers, the
// record kept while a handler runs, the tracked handler itself). Include
// track_requests.hpp; nothing here is part of the API.
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
#include "aiolocals/span.hpp"
#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals::detail {

// A client span's attributes from the request it stamps (OpenTelemetry's
// HTTP client conventions; the path without its query).
template <class Body, class Fields>
void describe_client_call(client_span& call, const boost::beast::http::request<Body, Fields>& req) {
  call.add_attribute("http.request.method", std::string(req.method_string()));
  const auto host = req.find(boost::beast::http::field::host);
  if (host != req.end()) call.add_attribute("server.address", std::string(host->value()));
  const std::string_view target = req.target();
  call.add_attribute("url.path", std::string(target.substr(0, target.find('?'))));
}

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

// The fields request tracking reads (the id, traceparent, tracestate,
// baggage), collected in one pass over a message's fields: a field Beast
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
      } else if (name.size() == 7 && boost::beast::iequals(name, "baggage")) {
        baggages.add(field.value());
      }
    }
  }
  incoming_headers get() const noexcept {
    return {ids.all(), parents.all(), states.all(), baggages.all()};
  }

 private:
  header_values ids, parents, states, baggages;
};

// describe_request, given string_to_field(options.header_name).
template <class Body, class Fields>
request_info describe_request_with(const boost::beast::http::request<Body, Fields>& req,
                                   const tracking_options& options,
                                   boost::beast::http::field id_field) {
  const tracking_header_values headers(req, options.header_name, id_field);
  return describe_request(req.method_string(), req.target(), headers.get(), options);
}


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
  open_span server_span;  // the request's own span: its record is the access log
};

// The request's server span: the ids of its record's trace, named by the
// method (OpenTelemetry's rule when no route is known), with the method
// and path as attributes when a sink records it.
inline open_span open_server_span(const request_info& info) {
  const trace_context& trace = info.trace;
  open_span server({trace.trace, trace.span, trace.parent, trace.flags}, info.method,
                   span_kind::server, {}, info.id);
  if (server.recorded()) {
    server.add_attribute("http.request.method", info.method);
    server.add_attribute("url.path", info.path);
  }
  return server;
}

// Ends a server span with the response's status: error for 5xx
// (OpenTelemetry's rule for servers), else ok.
inline void end_server_span(open_span& server, unsigned status) noexcept {
  try {
    server.add_attribute("http.response.status_code", static_cast<std::int64_t>(status));
  } catch (...) {
  }
  if (status >= 500) {
    server.end(span_status::error, "HTTP 5xx response");
  } else {
    server.end(span_status::ok);
  }
}

template <class Body, class Fields>
tracked_request start_tracking(const boost::beast::http::request<Body, Fields>& req,
                               const tracking_options& options,
                               boost::beast::http::field id_field) {
  const tracking_header_values headers(req, options.header_name, id_field);
  const incoming_headers values = headers.get();
  request_info info = describe_request(req.method_string(), req.target(), values, options);
  open_span server = open_server_span(info);
  // (Braced initialisation runs left to right: the id is kept before the
  // record moves into the context.)
  return tracked_request{kept_id(info.id),
                         make_request_context(std::move(info), values.baggage, options),
                         req.version(), req.keep_alive(), std::move(server)};
}

template <class Handler>
class tracked_handler {
 public:
  tracked_handler(Handler handler, tracking_options options)
      : handler_(std::move(handler)),
        options_(std::move(options)),
        id_field_(boost::beast::http::string_to_field(options_.header_name)) {
    check_tracking_options(options_);
  }

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
      end_server_span(tracked.server_span, res.result_int());
      co_return res;
    } catch (...) {
      error = std::current_exception();
    }
    report_exception(tracked, error);
    tracked.server_span.add_attribute("http.response.status_code", std::int64_t{500});
    tracked.server_span.fail(error);
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

}  // namespace aiolocals::detail
