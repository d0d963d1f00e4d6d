// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/asio_spawn.hpp - internals of aiolocals::co_spawn:
// peeling our adapter off the executor a child is spawned on, and binding a
// completion handler to the spawner's context. Not public.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

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

// A completion handler with an executor of its own, as co_spawn hands it
// back: Asio dispatches it on that executor from inside the finishing
// child, so where that executor runs functions inline (an io_context's,
// a strand's, any that does not enter a context of its own) the awaiting
// caller would resume, and run until its next suspension, inside the
// child's context. Called there (the child's context is current), it posts
// itself to its executor instead, and the caller resumes in what that
// executor gives it: its own context, or the thread's root. Anywhere else
// (our adapters entered the caller's context first) it runs at once.
template <class Handler>
class resuming_outside {
 public:
  resuming_outside(Handler handler, const context_impl* child)
      : handler_(std::move(handler)), child_(child) {}

  template <class... Args>
  void operator()(Args&&... args) && {
    if (this_thread.current == child_) [[unlikely]] {
      auto ex = boost::asio::get_associated_executor(handler_);
      boost::asio::post(std::move(ex), [handler = std::move(handler_),
                                        ... results = std::decay_t<Args>(
                                            std::forward<Args>(args))]() mutable {
        std::move(handler)(std::move(results)...);
      });
      return;
    }
    std::move(handler_)(std::forward<Args>(args)...);
  }

  const Handler& get() const noexcept { return handler_; }

 private:
  Handler handler_;
  const context_impl* child_;  // compared only: alive while the child finishes
};

// Starts the coroutine on `child_executor` (whose context is `child`); a
// completion handler with no executor of its own is bound to a copy of the
// spawner's context (asyncio runs done-callbacks in the context captured
// when they were added), since Asio may otherwise run it inline inside the
// child's context; one with an executor of its own resumes outside the
// child's context (resuming_outside).
struct initiate_co_spawn_with_context {
  template <class Handler, class ChildExecutor, class Awaitable>
  void operator()(Handler&& handler, ChildExecutor child_executor, Awaitable awaitable,
                  context spawner, const context_impl* child) const {
    using handler_type = std::decay_t<Handler>;
    if constexpr (std::is_same_v<handler_type, boost::asio::detail::detached_handler>) {
      boost::asio::co_spawn(child_executor, std::move(awaitable), std::forward<Handler>(handler));
    } else if constexpr (has_own_executor<handler_type>) {
      boost::asio::co_spawn(child_executor, std::move(awaitable),
                            resuming_outside<handler_type>(std::forward<Handler>(handler), child));
    } else {
      boost::asio::co_spawn(child_executor, std::move(awaitable),
                            aiolocals::bind(spawner.copy(), std::forward<Handler>(handler)));
    }
  }
};

// Spawns `awaitable` on `child_executor`, which runs in `child_context`,
// completing through `token` as co_spawn's contract says (see above).
template <class ChildExecutor, class T, class AwaitableExecutor, class CompletionToken>
auto spawn_with_context(ChildExecutor child_executor, const context_impl* child_context,
                        boost::asio::awaitable<T, AwaitableExecutor> awaitable,
                        CompletionToken&& token) {
  if constexpr (std::is_same_v<std::decay_t<CompletionToken>, boost::asio::detached_t>) {
    // Nothing completes: no spawner's context to keep for a handler.
    return boost::asio::co_spawn(std::move(child_executor), std::move(awaitable), token);
  } else {
    return boost::asio::async_initiate<CompletionToken, typename co_spawn_signature<T>::type>(
        initiate_co_spawn_with_context{}, token, std::move(child_executor), std::move(awaitable),
        context::current(), child_context);
  }
}

}  // namespace aiolocals::detail

namespace boost::asio {

/// A handler resuming outside a child's context keeps the associated
/// executor, allocator, cancellation slot and immediate executor of the
/// handler it wraps.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, aiolocals::detail::resuming_outside<Handler>, DefaultCandidate> {
  using type = typename Associator<Handler, DefaultCandidate>::type;
  static type get(const aiolocals::detail::resuming_outside<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.get());
  }
  static auto get(const aiolocals::detail::resuming_outside<Handler>& h,
                  const DefaultCandidate& candidate) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.get(), candidate)) {
    return Associator<Handler, DefaultCandidate>::get(h.get(), candidate);
  }
};

}  // namespace boost::asio
