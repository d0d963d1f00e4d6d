// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio/co_spawn.hpp - starting coroutines with a context:
// co_spawn (the seed's wrap_async), co_run and job_context for
// awaitables (see aiolocals/asio.hpp for the model, costs and limits).
// Target `aiolocals::asio`.
#pragma once

#include "aiolocals/asio/context_executor.hpp"
#include "aiolocals/detail/asio_spawn.hpp"
#include "aiolocals/request.hpp"

namespace aiolocals {

/// The seed's `wrap_async`: `asio::co_spawn` on `ex` with an O(1) copy of
/// the calling thread's current context, so the child starts with the
/// parent's values and neither ever sees the other's later writes. Same
/// completion-token contract as `asio::co_spawn` (`detached`,
/// `use_awaitable`, `use_future`, a callback); a callback without an
/// associated executor runs in a copy of the caller's context.
/// `ex` may be a coroutine's own executor (`co_await this_coro::executor`):
/// the parent's adapter is replaced, not stacked.
/// Cost: one context copy (one small allocation) over `asio::co_spawn`.
///
/// @code
/// aiolocals::co_spawn(co_await asio::this_coro::executor, background(),
///                     asio::detached);
/// @endcode
template <class Executor, class T, class AwaitableExecutor,
          class CompletionToken = boost::asio::default_completion_token_t<Executor>>
requires(boost::asio::execution::is_executor<Executor>::value) auto co_spawn(
    const Executor& ex, boost::asio::awaitable<T, AwaitableExecutor> awaitable,
    CompletionToken&& token = {}) {
  context child = detail::context_access::child_of_current();
  const detail::context_impl* child_impl = detail::context_access::impl(child);
  return detail::spawn_with_context(detail::with_context(ex, std::move(child)), child_impl,
                                    std::move(awaitable), std::forward<CompletionToken>(token));
}

/// As above, on an execution context's executor (`co_spawn(io, ...)`).
template <class ExecutionContext, class T, class AwaitableExecutor,
          class CompletionToken =
              boost::asio::default_completion_token_t<typename ExecutionContext::executor_type>>
requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
auto co_spawn(ExecutionContext& execution_context,
              boost::asio::awaitable<T, AwaitableExecutor> awaitable,
              CompletionToken&& token = {}) {
  return aiolocals::co_spawn(execution_context.get_executor(), std::move(awaitable),
                             std::forward<CompletionToken>(token));
}

/// Deprecated since 0.4: an alias of `co_spawn(ex, awaitable, detached)` on
/// the current coroutine's executor (the seed's spelling), which says where
/// the child runs and how it completes; one way to start a task.
/// @code
/// aiolocals::co_spawn(co_await asio::this_coro::executor, background(), asio::detached);
/// @endcode
template <class T, class AwaitableExecutor>
[[deprecated(
    "aiolocals::wrap_async is an alias: use aiolocals::co_spawn(co_await "
    "asio::this_coro::executor, awaitable, asio::detached)")]] boost::asio::
    awaitable<void, AwaitableExecutor>
    wrap_async(
    boost::asio::awaitable<T, AwaitableExecutor> awaitable) {
  AwaitableExecutor ex = co_await boost::asio::this_coro::executor;
  aiolocals::co_spawn(ex, std::move(awaitable), boost::asio::detached);
}

/// Deprecated since 0.5: an alias of `co_spawn(ex, connection_loop, token)`.
/// Sessions (a connection's loop whose executor switched into each request's
/// context) are gone: their executor's copies could not equal their source,
/// as Asio's executor requirements ask, and `track_requests` now serves every
/// way a connection is started through one path.
template <class... Args>
[[deprecated(
    "aiolocals::co_spawn_session is an alias: use aiolocals::co_spawn (or plain "
    "asio::co_spawn) for a connection's loop")]] auto co_spawn_session(Args&&... args)
    -> decltype(aiolocals::co_spawn(std::forward<Args>(args)...)) {
  return aiolocals::co_spawn(std::forward<Args>(args)...);
}

/// The coroutine form of `ctx.run(f)` (and of Python's `with Context():`):
/// awaits `body` with `ctx` current at every one of its resumptions, on
/// whichever thread, and returns its result; the caller's context is
/// current again afterwards (on an executor that enters no context of its
/// own, such as an io_context's, the caller resumes from that executor's
/// queue, never inside `ctx`). Writes made by `body` land in `ctx`. Use it
/// wherever synchronous code would use a `scope`, which must not be held
/// across `co_await`.
/// Cost: one co_spawn onto a `context_executor` (see docs/benchmarks.md).
/// @code
/// co_await aiolocals::co_run(aiolocals::context{}, body());          // fresh
/// co_await aiolocals::co_run(aiolocals::context::current().copy(), body());
/// @endcode
template <class T, class AwaitableExecutor>
boost::asio::awaitable<T, AwaitableExecutor> co_run(
    context ctx, boost::asio::awaitable<T, AwaitableExecutor> body) {
  AwaitableExecutor ex = co_await boost::asio::this_coro::executor;
  const detail::context_impl* body_context = detail::context_access::impl(ctx);
  co_return co_await detail::spawn_with_context(detail::with_context(ex, std::move(ctx)),
                                                body_context, std::move(body),
                                                boost::asio::use_awaitable_t<AwaitableExecutor>{});
}

/// The seed's `job_context`: runs `job` to completion in a fresh context in
/// which `aiolocals::request` is make_job_record(name) ({id:
/// make_job_id(name), path: name, kind: job}), and returns its result.
/// Every log line of the job carries the id; the caller's context is
/// untouched. Cost: one co_run and one id. (For plain callables:
/// `job_context(name, f)` in aiolocals/request.hpp.)
/// @code
/// co_await aiolocals::job_context("nightly-cleanup", cleanup());
/// @endcode
template <class T, class AwaitableExecutor>
boost::asio::awaitable<T, AwaitableExecutor> job_context(
    std::string name, boost::asio::awaitable<T, AwaitableExecutor> job) {
  context job_ctx;
  job_ctx.run([&] { request.set(make_job_record(name)); });
  co_return co_await co_run(std::move(job_ctx), std::move(job));
}

}  // namespace aiolocals
