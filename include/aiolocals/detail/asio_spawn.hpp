// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/asio_spawn.hpp - internals of aiolocals::co_spawn and
// of every path that spawns a child in a context of its own: how the
// spawner's completion handler runs outside the child's context. Not public.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include "aiolocals/context.hpp"
#include "aiolocals/detail/asio_adapter.hpp"

namespace aiolocals::detail {

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
// child's context. Called there (the child's context is current), it runs
// in the context the thread had outside our adapter's function when that
// was its root (what the executor's queue would give it, without a trip
// through the queue), and otherwise posts itself to its executor, where the
// caller resumes in what that executor gives it. Anywhere else (our
// adapters entered the caller's context first) it runs at once.
template <class Handler>
class resuming_outside {
 public:
  resuming_outside(Handler handler, const context_impl* child)
      : handler_(std::move(handler)), child_(child) {}

  template <class... Args>
  void operator()(Args&&... args) && {
    thread_state& state = this_thread;
    if (state.current != child_) [[likely]] {
      std::move(handler_)(std::forward<Args>(args)...);
      return;
    }
    context_impl* const outside = state.outside;
    if (outside == nullptr || outside == state.root) {
      // The root is this thread's own: no entry to take. The child's
      // context stays entered underneath and is current again afterwards.
      context_impl* const child = state.current;
      state.current = outside;
      view(state, outside);
      struct back_in_child {
        context_impl* child;
        ~back_in_child() {
          thread_state& now = this_thread;
          now.current = child;
          view(now, child);
        }
      } restore{child};
      std::move(handler_)(std::forward<Args>(args)...);
      return;
    }
    auto ex = boost::asio::get_associated_executor(handler_);
    boost::asio::post(std::move(ex), [handler = std::move(handler_),
                                      ... results = std::decay_t<Args>(
                                          std::forward<Args>(args))]() mutable {
      std::move(handler)(std::move(results)...);
    });
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
