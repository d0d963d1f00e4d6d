// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/asio_spawn.hpp - internals of aiolocals::co_spawn:
// peeling our adapter off the executor a child is spawned on, and binding a
// completion handler to the spawner's context. Not public.
#pragma once

#include "aiolocals/asio/context_executor.hpp"

namespace aiolocals::detail {

template <class Executor>
struct is_context_executor : std::false_type {};
template <class Executor>
struct is_context_executor<context_executor<Executor>> : std::true_type {};

// `ex` wrapped to run in `ctx`, with any adapter of ours peeled off first
// (whatever it wraps, also through any_io_executor), so that a child
// spawned from inside a task enters only its own context and is not
// serialised with its parent.
template <class Executor>
auto with_context(const Executor& ex, context ctx) {
  if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    if (auto* bare = ex.template target<boost::asio::io_context::executor_type>()) {
      return boost::asio::any_io_executor(context_executor(*bare, std::move(ctx)));
    }
    if (auto peeled = peel(ex, ctx)) return std::move(*peeled);
    return boost::asio::any_io_executor(context_executor(ex, std::move(ctx)));
  } else if constexpr (is_context_executor<Executor>::value) {
    return context_executor(ex.get_inner_executor(), std::move(ctx));
  } else {
    return context_executor(ex, std::move(ctx));
  }
}

template <class T>
struct co_spawn_signature {
  using type = void(std::exception_ptr, T);
};
template <>
struct co_spawn_signature<void> {
  using type = void(std::exception_ptr);
};

template <class Handler>
constexpr bool has_own_executor =
    !std::is_same_v<boost::asio::associated_executor_t<Handler, boost::asio::system_executor>,
                    boost::asio::system_executor>;

// Starts the coroutine; a completion handler with no executor of its own is
// bound to a copy of the spawner's context (asyncio runs done-callbacks in the
// context captured when they were added), since Asio may otherwise run it
// inline inside the child's context.
struct initiate_co_spawn_with_context {
  template <class Handler, class ChildExecutor, class Awaitable>
  void operator()(Handler&& handler, ChildExecutor child_executor, Awaitable awaitable,
                  context spawner) const {
    using handler_type = std::decay_t<Handler>;
    if constexpr (std::is_same_v<handler_type, boost::asio::detail::detached_handler> ||
                  has_own_executor<handler_type>) {
      boost::asio::co_spawn(child_executor, std::move(awaitable), std::forward<Handler>(handler));
    } else {
      boost::asio::co_spawn(child_executor, std::move(awaitable),
                            aiolocals::bind(spawner.copy(), std::forward<Handler>(handler)));
    }
  }
};

}  // namespace aiolocals::detail
