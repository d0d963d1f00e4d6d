// SPDX-License-Identifier: BSL-1.0
// aiolocals/span.hpp - spans: the current one, timed blocks of work, and
// the client span of an outgoing call. Sits beside request.hpp (the record
// layer): the core and trace/ below it, no framework.
//
//   int price = aiolocals::span("price", [&] { return compute_price(); });
//   // coroutines: co_await aiolocals::span("price", fetch_price())
//   //             (aiolocals/asio.hpp)
//
// Where spans live: a request's server span is its record's trace
// (`aiolocals::request`, filled by request tracking); a `span` block runs
// its work in a copy of the context holding the block's span in a local of
// the library's own, so every log line inside carries the block's
// `span_id` (its parent: the span that was current), blocks nest into a
// tree, and tasks spawned inside inherit it as they inherit any local. When
// the block ends, a span_record goes to the installed sinks
// (trace/span_record.hpp); with no sink installed a span costs its ids, a
// context copy and one local write, and reads no clock.
// Thread-safety: everything here acts on the calling thread's current
// context; a client_span is owned by one task at a time (movable, not
// copyable).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/trace/span_record.hpp"
#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals {

/// The ids of one span: what a log line and an outgoing call read.
struct span_context {
  trace_id trace;
  span_id span;
  span_id parent;          ///< invalid: a root span
  std::uint8_t flags = 0;  ///< the trace's flags (sampled, random)
  bool is_valid() const noexcept { return trace.is_valid() && span.is_valid(); }
};

/// The span the calling code runs in: the innermost `span` block, else the
/// current request's or job's own span, else none (invalid). Two local
/// lookups, no allocation.
span_context current_span() noexcept;
/// The same for code that would run in `ctx`, read without entering it
/// (what a log record's snapshot is asked).
span_context current_span(const context& ctx) noexcept;

/// What a span block is: its kind and the attributes it starts with.
struct span_options {
  span_kind kind = span_kind::internal;
  std::vector<span_attribute> attributes;
};

namespace detail {

// The innermost span block's ids; set only in the context copy a block
// runs in. Defined in the library.
extern local<span_context> active_span;

// One span from its start to its end: its ids always, its record only when
// it is recorded (span_recorded). Ends once: `end` or `fail`, else the
// destructor ends it as cancelled (work abandoned before it completed).
class open_span {
 public:
  // A child of current_span() (a new trace outside any).
  open_span(std::string_view name, span_kind kind, std::vector<span_attribute> attributes = {});
  // A span with the given ids (a request's server span).
  open_span(const span_context& ids, std::string_view name, span_kind kind,
            std::vector<span_attribute> attributes, std::string_view request_id);
  open_span(open_span&& other) noexcept
      : ids_(other.ids_), record_(std::move(other.record_)), ended_(std::exchange(other.ended_, true)) {}
  open_span& operator=(open_span&& other) noexcept {
    if (this != &other) {
      finish_abandoned();
      ids_ = other.ids_;
      record_ = std::move(other.record_);
      ended_ = std::exchange(other.ended_, true);
    }
    return *this;
  }
  open_span(const open_span&) = delete;
  open_span& operator=(const open_span&) = delete;
  ~open_span() { finish_abandoned(); }

  const span_context& ids() const noexcept { return ids_; }
  bool recorded() const noexcept { return record_ != nullptr; }
  // Adds an attribute to the record (nothing when not recorded).
  void add_attribute(std::string key, span_attribute_value value);
  // Ends with `status` (and, for an error, `message`).
  void end(span_status status, std::string_view message = {}) noexcept;
  // Ends as an error saying what `error` says.
  void fail(const std::exception_ptr& error) noexcept;

 private:
  void finish_abandoned() noexcept {
    if (!ended_) end(span_status::error, "cancelled: ended before its work completed");
  }
  span_context ids_;
  std::unique_ptr<span_record> record_;  // null: not recorded
  bool ended_ = false;
};

// A copy of the current context in which `ids` is the active span.
context context_for_span(const span_context& ids);

}  // namespace detail

/// Runs `f()` now, on this thread, as a span named `name`: in a copy of the
/// context whose current span is a new child of current_span() (a new
/// trace outside any), so its log lines carry the span's id; returns what
/// `f` returns. The span ends when `f` returns (status ok) or throws
/// (status error with the exception's text; the exception propagates). The
/// caller's context is untouched. Cost: an id, a context copy and a local
/// write; a record and two clock reads when a sink records it.
/// @code
/// auto total = aiolocals::span("sum", [&] { return sum(items); });
/// @endcode
template <class F>
requires std::is_invocable_v<F&&>
std::invoke_result_t<F&&> span(std::string_view name, F&& f, span_options options = {}) {
  detail::open_span opened(name, options.kind, std::move(options.attributes));
  const context in_span = detail::context_for_span(opened.ids());
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&&>>) {
      in_span.run(std::forward<F>(f));
      opened.end(span_status::ok);
    } else {
      std::invoke_result_t<F&&> result = in_span.run(std::forward<F>(f));
      opened.end(span_status::ok);
      return result;
    }
  } catch (...) {
    opened.fail(std::current_exception());
    throw;
  }
}

/// The client span of one outgoing call, made by `propagate` (the Beast
/// glue) or by your own client code: its id is the `parent-id` the callee
/// receives, its parent the span current when the call was made. Keep it
/// until the response arrives, then `end(status_code)`; `fail(error)` if
/// the call failed. Dropped without either, it ends as cancelled.
/// Movable, not copyable; owned by one task at a time.
/// @code
/// auto call = aiolocals::propagate(req);     // Beast: sets the headers
/// auto res = co_await send(req);
/// call.end(res.result_int());
/// @endcode
class client_span {
 public:
  /// No span: end and fail do nothing (what propagate gives outside any
  /// trace).
  client_span() noexcept = default;
  /// A new client span, child of current_span() (a new trace outside any),
  /// named `name` (OpenTelemetry: the HTTP method) with `attributes`.
  explicit client_span(std::string_view name, std::vector<span_attribute> attributes = {})
      : span_(std::in_place, name, span_kind::client, std::move(attributes)) {}
  /// Moves the span; the source then holds none (is_valid() false).
  client_span(client_span&& other) noexcept : span_(std::move(other.span_)) { other.span_.reset(); }
  /// Ends a span this held as cancelled, then takes `other`'s.
  client_span& operator=(client_span&& other) noexcept {
    if (this != &other) {
      span_ = std::move(other.span_);
      other.span_.reset();
    }
    return *this;
  }

  /// Whether this holds a span.
  bool is_valid() const noexcept { return span_.has_value(); }
  /// Whether its record is kept (a sink records it): attributes cost only
  /// then.
  bool recorded() const noexcept { return span_ && span_->recorded(); }
  /// Adds an attribute to the record (nothing when not recorded).
  void add_attribute(std::string key, span_attribute_value value) {
    if (span_) span_->add_attribute(std::move(key), std::move(value));
  }
  /// The span's ids (invalid when none): `span` is what goes out as the
  /// traceparent's parent-id.
  span_context ids() const noexcept { return span_ ? span_->ids() : span_context{}; }
  /// Ends the span with the response's status code as
  /// `http.response.status_code`; status error for 4xx and 5xx
  /// (OpenTelemetry's rule for client spans), else ok.
  void end(unsigned status_code) noexcept;
  /// Ends the span as an error with `error`'s text.
  void fail(const std::exception_ptr& error) noexcept {
    if (span_) span_->fail(error);
  }

 private:
  std::optional<detail::open_span> span_;
};

}  // namespace aiolocals
