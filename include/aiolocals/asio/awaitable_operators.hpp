// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio/awaitable_operators.hpp - `||` and `&&` on awaitables, with
// each branch in its own copy of the caller's context (asyncio.gather's
// semantics). Target `aiolocals::asio`.
//
//   using namespace aiolocals::awaitable_operators;   // instead of Asio's
//   auto result = co_await (fetch() || timeout(2s));  // the timeout idiom
//   auto [a, b] = co_await (load_a() && load_b());
//
// Asio's `experimental::awaitable_operators` start both branches on the
// current executor, so with aiolocals both would run in the caller's
// context: the winner's writes would stay in the caller, and each branch
// would read the other's. These operators take the same operands and give
// the same results, cancellation and exceptions as Asio's (they call them),
// but first wrap each operand so that it runs in an O(1) copy of the
// caller's context: no branch writes into the caller or a sibling.
//
// For more than two operations or other wait conditions, give
// `experimental::make_parallel_group` operations made with
// `aiolocals::co_spawn(ex, op(), asio::deferred)`: each takes its copy when
// it is made.
//
// Cost: per branch, one extra coroutine frame and one `aiolocals::co_spawn`
// (a context copy) over Asio's operator. Thread-safety: as Asio's.
// Do not also bring Asio's operators into scope (calls become ambiguous).
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <utility>

#include "aiolocals/asio.hpp"

namespace aiolocals {

namespace detail {

// Runs `branch` in a copy of the context current when this wrapper starts:
// inside Asio's operator that is the caller's context.
template <class T, class Executor>
boost::asio::awaitable<T, Executor> in_own_copy(boost::asio::awaitable<T, Executor> branch) {
  Executor ex = co_await boost::asio::this_coro::executor;
  co_return co_await aiolocals::co_spawn(ex, std::move(branch),
                                         boost::asio::use_awaitable_t<Executor>{});
}

}  // namespace detail

namespace awaitable_operators {

/// Waits for both; each runs in its own copy of the caller's context. The
/// result type, cancellation (one failing cancels the other) and exceptions
/// are those of Asio's `operator&&`.
template <class T, class U, class Executor>
auto operator&&(boost::asio::awaitable<T, Executor> first,
                boost::asio::awaitable<U, Executor> second) {
  return boost::asio::experimental::awaitable_operators::operator&&(
      detail::in_own_copy(std::move(first)), detail::in_own_copy(std::move(second)));
}

/// Waits for the first to finish and cancels the other; each runs in its
/// own copy of the caller's context. Result type (a variant), cancellation
/// and exceptions are those of Asio's `operator||`.
template <class T, class U, class Executor>
auto operator||(boost::asio::awaitable<T, Executor> first,
                boost::asio::awaitable<U, Executor> second) {
  return boost::asio::experimental::awaitable_operators::operator||(
      detail::in_own_copy(std::move(first)), detail::in_own_copy(std::move(second)));
}

}  // namespace awaitable_operators
}  // namespace aiolocals
