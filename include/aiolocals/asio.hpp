// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio.hpp - umbrella header: task-local state for Boost.Asio
// (1.81) coroutines and handlers. Target `aiolocals::asio`; header-only on top of the core.
// Includes aiolocals/asio/context_executor.hpp and aiolocals/asio/co_spawn.hpp;
// the awaitable operators are opt-in (aiolocals/asio/awaitable_operators.hpp).
//
//   context_executor<Executor>  an executor adapter (shaped like
//                               asio::strand) that runs every function it is
//                               given inside one context; a coroutine spawned
//                               on it sees that context at every resumption,
//                               whichever thread resumes it.
//   co_spawn(ex, awaitable, token)
//                               the seed's `wrap_async`: asio::co_spawn with
//                               an O(1) copy of the caller's context.
//   co_run(ctx, awaitable)      the coroutine form of `ctx.run(f)` / Python's
//                               `with Context():` (a `scope` must not be held
//                               across co_await).
//   job_context(name, awaitable)
//                               the seed's `job_context`: run a job in a fresh
//                               context whose `aiolocals::request` names it.
//   awaitable_operators         `||` and `&&` with a copy per branch
//                               (aiolocals/asio/awaitable_operators.hpp).
//   bind(f)                     (core) keeps a handler's associated executor,
//                               allocator and cancellation slot (associator).
//
// Why an executor: on a multi-threaded io_context one thread interleaves many
// coroutines, so a thread-local set by coroutine A is seen by B and lost when
// A resumes elsewhere. In Asio 1.81 every resumption of an awaitable whose
// executor is not the io_context's own type goes through that executor's
// `execute` (detail/handler_work.hpp: `handler_work_base::dispatch`), so
// wrapping the executor is enough to see every resumption.
//
// Cost: per resumption, one compare-exchange to enter the context, a few
// stores, and the atomic reference counting of the executor copies Asio makes
// (4 increments and 4 decrements per `co_await asio::post` round trip); the
// figures are in docs/benchmarks.md. The function object passed to the inner
// executor grows by the context handle and an untracked copy of the inner
// executor.
//
// Thread-safety: a context is entered by one thread at a time. If a second
// thread is asked to run a function of a context that another thread is
// running now (two coroutines of one task awaited together), the function
// is re-posted to the inner executor instead of running beside
// it, so resumptions of one context never overlap, like on a strand.
//
// Pitfalls, each caught or documented (tests/asio/test_pitfalls.cpp):
//  - A child started with plain `asio::co_spawn(ex, child(), ...)` on the
//    task's own executor is a coroutine of the same task: it shares the
//    parent's context and its writes show in the parent. One-line fix:
//    `aiolocals::co_spawn(ex, child(), ...)` gives it a copy.
//  - A coroutine spawned with plain `asio::co_spawn` on a bare io_context
//    has no context of its own: setting a local there would write the
//    thread's root context, shared by every handler of that thread, so
//    `set` throws context_error instead (see allow_root_writes).
//  - A `scope` held across co_await: the adapter throws context_error out
//    of io_context::run() at the suspension (see scope in context.hpp).
//  - Asio's own `||`/`&&` start both branches in the caller's context; use
//    aiolocals/asio/awaitable_operators.hpp.
// Limits (tests in tests/asio/test_asio.cpp and tests/asio/test_pitfalls.cpp):
//  - Code in a coroutine frame that Asio destroys without resuming (an
//    io_context destroyed with work pending) runs in whatever context the
//    destroying thread has; `local<T>::scoped` guards then leave the value.
//  - Awaitables must use a polymorphic executor (the default
//    `awaitable<T>` = `awaitable<T, any_io_executor>`) for the adapter to fit
//    (a compile-time constraint of asio::co_spawn).
//  - If a thread holds a context entered while it blocks (a synchronous wait
//    inside a handler), other threads' functions of that context keep being
//    re-posted until it returns: correct, but they spin.
//  - A program that dlcloses a plugin must first drop every value and
//    executor adapter the plugin made (their code lives in the plugin).
#pragma once

#include "aiolocals/asio/co_spawn.hpp"
#include "aiolocals/asio/context_executor.hpp"
#include "aiolocals/asio/span.hpp"
