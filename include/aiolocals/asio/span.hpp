// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio/span.hpp - the coroutine form of `aiolocals::span`
// (aiolocals/span.hpp): a timed block of asynchronous work with a span of
// its own.
//
//   int price = co_await aiolocals::span("price", fetch_price(item));
//
// `op` runs in a copy of the context whose current span is a new child of
// the span current at the co_await (a new trace outside any), at every one
// of its resumptions, on whichever thread: its log lines carry the span's
// id, tasks it spawns inherit it, spans nest into a tree. The span ends when
// `op` completes (status ok), throws (error, the exception's text; the
// exception propagates) or is cancelled (an `operation_aborted` error, as
// the losing branch of `||` gets: error "cancelled: ..."); if the awaiting
// coroutine is destroyed before `op` completes, the span still ends, as
// cancelled. The caller's context is current again afterwards. Cost: the
// span's (aiolocals/span.hpp) plus one co_run; thread-safety: as co_run.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "aiolocals/asio/co_spawn.hpp"
#include "aiolocals/span.hpp"

namespace aiolocals {

/// Awaits `op` as a span named `name` (see the file comment).
/// @code
/// auto [price, stock] = co_await (aiolocals::span("price", get_price()) &&
///                                 aiolocals::span("stock", get_stock()));
/// @endcode
template <class T, class AwaitableExecutor>
boost::asio::awaitable<T, AwaitableExecutor> span(std::string name,
                                                  boost::asio::awaitable<T, AwaitableExecutor> op,
                                                  span_options options = {}) {
  detail::open_span opened(name, options.kind, std::move(options.attributes));
  try {
    if constexpr (std::is_void_v<T>) {
      co_await co_run(detail::context_for_span(opened.ids()), std::move(op));
      opened.end(span_status::ok);
    } else {
      T result = co_await co_run(detail::context_for_span(opened.ids()), std::move(op));
      opened.end(span_status::ok);
      co_return result;
    }
  } catch (const boost::system::system_error& error) {
    if (error.code() == boost::asio::error::operation_aborted) {
      opened.end(span_status::error, std::string("cancelled: ") + error.what());
    } else {
      opened.fail(std::current_exception());
    }
    throw;
  } catch (...) {
    opened.fail(std::current_exception());
    throw;
  }
}

}  // namespace aiolocals
