// aiolocals/asio.hpp - task-local state for Boost.Asio (1.81) coroutines and
// handlers. Target `aiolocals::asio`; header-only on top of the core.
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
// (4 increments and 4 decrements per `co_await asio::post` round trip): about
// 55-75 ns on the CI VM, 1.5-1.85x a bare round trip (docs/benchmarks.md). The
// function object passed to the inner executor grows by the context handle
// and an untracked copy of the inner executor.
//
// Thread-safety: a context is entered by one thread at a time. If a second
// thread is asked to run a function of a context that another thread is
// running now (two coroutines of one task awaited together), the function
// is re-posted to the inner executor instead of running beside
// it, so resumptions of one context never overlap, like on a strand.
//
// Pitfalls, each caught or documented (tests/test_pitfalls.cpp):
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
// Limits (tests in tests/test_asio.cpp):
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

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"

namespace aiolocals {

namespace detail {

// What the adapter hands to its inner executor: the user's function plus the
// context to run it in, entered only when the function really runs (perhaps
// later, on another thread).
template <class Function, class Executor>
class context_entering_function {
 public:
  template <class F, class Inner>
  context_entering_function(F&& function, context&& ctx, Inner&& inner)
      : function_(std::forward<F>(function)),
        context_(std::move(ctx)),
        inner_(std::forward<Inner>(inner)) {}

  void operator()() {
    context_impl* impl = context_access::impl(context_);
    context_impl* previous = nullptr;
    if (!try_enter(impl, previous)) {
      // Another thread is running this context now. Run after it, not
      // beside it: re-post rather than block this thread or throw.
      boost::asio::execution::execute(
          boost::asio::prefer(inner_, boost::asio::execution::blocking.never), std::move(*this));
      return;
    }
    scope* const mark = this_thread.innermost;
    try {
      std::move(function_)();
    } catch (...) {
      finish(impl, previous, mark);
      throw;
    }
    if (finish(impl, previous, mark)) throw_scope_left_open();
  }

 private:
  // Leaves the context; true if the function returned with a scope still
  // open (held across co_await), which is closed and reported.
  static bool finish(context_impl* impl, context_impl* previous, scope* mark) noexcept {
    const bool scope_left_open = this_thread.innermost != mark;
    if (scope_left_open) abandon_scopes(mark);
    leave(impl, previous);
    return scope_left_open;
  }

  Function function_;
  context context_;
  Executor inner_;
};

// Properties the adapter forwards: all but blocking.always (see require).
template <class Property>
concept forwardable =
    !std::is_convertible_v<Property, boost::asio::execution::blocking_t::always_t>;

// How an adapter of ours is recognised inside an any_io_executor whatever
// it wraps: each context_executor<E> type adds one entry (when its first
// object is made) saying how to re-wrap its inner executor with another
// context. Entries are only added (lock-free push), never removed.
struct peeler {
  const std::type_info* type;
  boost::asio::any_io_executor (*rewrap)(const boost::asio::any_io_executor&, context&&);
  peeler* next;
};
inline constinit std::atomic<peeler*> peelers{nullptr};

template <class Adapter>
bool register_peeler() {
  if constexpr (std::is_convertible_v<Adapter, boost::asio::any_io_executor>) {
    static peeler entry{&typeid(Adapter),
                        [](const boost::asio::any_io_executor& ex, context&& ctx) {
                          const Adapter* adapter = ex.template target<Adapter>();
                          return boost::asio::any_io_executor(
                              Adapter(adapter->get_inner_executor(), std::move(ctx)));
                        },
                        nullptr};
    entry.next = peelers.load(std::memory_order_relaxed);
    while (!peelers.compare_exchange_weak(entry.next, &entry, std::memory_order_release,
                                          std::memory_order_relaxed)) {
    }
  }
  return true;
}

// The inner executor of `ex` wrapped with `ctx` if `ex` holds an adapter of
// ours, else nothing.
inline std::optional<boost::asio::any_io_executor> peel(const boost::asio::any_io_executor& ex,
                                                        context& ctx) {
  const std::type_info& type = ex.target_type();
  for (peeler* p = peelers.load(std::memory_order_acquire); p != nullptr; p = p->next) {
    if (*p->type == type) return p->rewrap(ex, std::move(ctx));
  }
  return std::nullopt;
}

// The integration's answer to "is this thread running an Asio handler?"
// (true inside io_context::run and on thread_pool threads), given to the
// core's root-write check once, at start-up, by every program that
// includes this header.
inline bool thread_runs_asio_handlers() noexcept {
  return boost::asio::detail::thread_context::top_of_thread_call_stack() != nullptr;
}
inline const bool asio_handler_probe_installed =
    (install_handler_probe(&thread_runs_asio_handlers), true);

}  // namespace detail

/// An executor adapter that runs every function inside one context: spawn a
/// coroutine on it and each resumption sees that context, on any thread.
/// Shaped like `asio::strand<Executor>`: `query` forwards to the inner
/// executor, `require`/`prefer` forward and re-wrap (so it survives
/// `outstanding_work.tracked`, `blocking.never`, conversion to
/// `any_io_executor` and wrapping a strand), equality compares the inner
/// executor and the context.
///
/// @code
/// asio::io_context io;
/// aiolocals::context ctx;
/// aiolocals::context_executor ex(io.get_executor(), ctx);
/// asio::co_spawn(ex, handler(), asio::detached);  // handler runs in ctx
/// @endcode
///
/// Cost: copying is one atomic increment (the context handle) plus the
/// inner executor's copy. Thread-safety: as the inner executor's; the
/// functions of one context never run on two threads at once (see the file
/// comment).
template <class Executor>
class context_executor {
 public:
  /// The wrapped executor's type.
  using inner_executor_type = Executor;

  /// Runs functions on `inner`, each inside `ctx` (shared, not copied).
  context_executor(const Executor& inner, context ctx) : inner_(inner), context_(std::move(ctx)) {
    (void)peelable_;
  }

  /// Converts from an adapter over a compatible executor (as strand does).
  template <class OtherExecutor>
  requires std::is_constructible_v<Executor, const OtherExecutor&> context_executor(
      const context_executor<OtherExecutor>& other)  // NOLINT
      : inner_(other.get_inner_executor()), context_(other.get_context()) {}

  /// The wrapped executor.
  inner_executor_type get_inner_executor() const noexcept { return inner_; }

  /// The context every function runs in.
  const context& get_context() const noexcept { return context_; }

  /// Forwards a query to the inner executor. Like `asio::strand`, reports
  /// `blocking.possibly` where the inner executor says `blocking.always`: a
  /// function whose context another thread is running is re-posted, so
  /// `execute` may return before it has run.
  /// @code
  /// auto& io = asio::query(ex, asio::execution::context);
  /// @endcode
  template <class Property>
  requires boost::asio::can_query<const Executor&, Property>::value decltype(auto) query(
      const Property& property) const
      noexcept(boost::asio::is_nothrow_query<const Executor&, Property>::value) {
    if constexpr (std::is_convertible_v<Property, boost::asio::execution::blocking_t>) {
      boost::asio::execution::blocking_t result = boost::asio::query(inner_, property);
      return result == boost::asio::execution::blocking.always
                 ? boost::asio::execution::blocking_t(boost::asio::execution::blocking.possibly)
                 : result;
    } else {
      return boost::asio::query(inner_, property);
    }
  }

  /// Forwards a requirement to the inner executor and wraps the result.
  /// `blocking.always` is refused (no `require` overload), as by
  /// `asio::strand`: the adapter cannot promise to run a function inline.
  /// @code
  /// auto never = asio::require(ex, asio::execution::blocking.never);
  /// @endcode
  template <class Property>
  requires detail::forwardable<Property> && boost::asio::can_require<const Executor&, Property>::value auto require(
      const Property& property) const& {
    return rewrap(boost::asio::require(inner_, property), context_);
  }
  /// (On a temporary, as in Asio's own require/prefer chains, the context
  /// handle is moved rather than copied: no reference-count traffic.)
  template <class Property>
  requires detail::forwardable<Property> && boost::asio::can_require<const Executor&, Property>::value auto require(
      const Property& property) && {
    return rewrap(boost::asio::require(inner_, property), std::move(context_));
  }

  /// Forwards a preference to the inner executor and wraps the result.
  /// @code
  /// auto tracked = asio::prefer(ex, asio::execution::outstanding_work.tracked);
  /// @endcode
  template <class Property>
  requires detail::forwardable<Property> && boost::asio::can_prefer<const Executor&, Property>::value auto prefer(
      const Property& property) const& {
    return rewrap(boost::asio::prefer(inner_, property), context_);
  }
  template <class Property>
  requires detail::forwardable<Property> && boost::asio::can_prefer<const Executor&, Property>::value auto prefer(
      const Property& property) && {
    return rewrap(boost::asio::prefer(inner_, property), std::move(context_));
  }

  /// Submits `f` to the inner executor; when it runs, it runs inside the
  /// context and the thread's previous context is restored afterwards (also
  /// on exception). Blocking semantics are the inner executor's.
  /// (Asio 1.81 routes post/dispatch/defer of a standard executor through
  /// `execute`; the legacy Networking TS members are not needed.)
  template <class Function>
  void execute(Function&& f) const& {
    boost::asio::execution::execute(inner_, wrap(std::forward<Function>(f), context(context_)));
  }
  template <class Function>
  void execute(Function&& f) && {
    boost::asio::execution::execute(inner_, wrap(std::forward<Function>(f), std::move(context_)));
  }

  friend bool operator==(const context_executor& a, const context_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.context_ == b.context_;
  }
  friend bool operator!=(const context_executor& a, const context_executor& b) noexcept {
    return !(a == b);
  }

 private:
  template <class Inner>
  static context_executor<std::decay_t<Inner>> rewrap(Inner&& inner, context ctx) {
    return {std::forward<Inner>(inner), std::move(ctx)};
  }

  // The re-post path keeps an untracked copy of the inner executor: the
  // queued function already counts as work, and a tracked copy would cost
  // two more atomic operations per function.
  using repost_executor = std::decay_t<typename boost::asio::prefer_result<
      const Executor&, boost::asio::execution::outstanding_work_t::untracked_t>::type>;

  template <class Function>
  auto wrap(Function&& f, context ctx) const {
    return detail::context_entering_function<std::decay_t<Function>, repost_executor>(
        std::forward<Function>(f), std::move(ctx),
        boost::asio::prefer(inner_, boost::asio::execution::outstanding_work.untracked));
  }

  // Lets aiolocals::co_spawn find this adapter type inside an
  // any_io_executor and replace its context rather than stack a second one.
  static inline const bool peelable_ = detail::register_peeler<context_executor>();

  Executor inner_;
  context context_;
};

template <class Executor>
context_executor(const Executor&, context) -> context_executor<Executor>;

namespace detail {

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

}  // namespace detail

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
  using signature = typename detail::co_spawn_signature<T>::type;
  context current = context::current();
  auto child_executor = detail::with_context(ex, current.copy());
  return boost::asio::async_initiate<CompletionToken, signature>(
      detail::initiate_co_spawn_with_context{}, token, std::move(child_executor),
      std::move(awaitable), std::move(current));
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

/// The seed's spelling of `co_spawn(..., detached)`: fire off `awaitable`
/// with a copy of the current context on the current coroutine's executor.
/// @code
/// co_await aiolocals::wrap_async(background());
/// @endcode
template <class T, class AwaitableExecutor>
boost::asio::awaitable<void, AwaitableExecutor> wrap_async(
    boost::asio::awaitable<T, AwaitableExecutor> awaitable) {
  AwaitableExecutor ex = co_await boost::asio::this_coro::executor;
  aiolocals::co_spawn(ex, std::move(awaitable), boost::asio::detached);
}

/// The coroutine form of `ctx.run(f)` (and of Python's `with Context():`):
/// awaits `body` with `ctx` current at every one of its resumptions, on
/// whichever thread, and returns its result; the caller's context is
/// current again afterwards. Writes made by `body` land in `ctx`. Use it
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
  co_return co_await boost::asio::co_spawn(detail::with_context(ex, std::move(ctx)),
                                           std::move(body),
                                           boost::asio::use_awaitable_t<AwaitableExecutor>{});
}

/// The seed's `job_context`: runs `job` to completion in a fresh context in
/// which `aiolocals::request` holds {id: make_job_id(name), path: name,
/// kind: job}, and returns its result. Every log line of the job carries the
/// id; the caller's context is untouched. Cost: one co_run and one id.
/// @code
/// co_await aiolocals::job_context("nightly-cleanup", cleanup());
/// @endcode
template <class T, class AwaitableExecutor>
boost::asio::awaitable<T, AwaitableExecutor> job_context(
    std::string name, boost::asio::awaitable<T, AwaitableExecutor> job) {
  context job_ctx;
  job_ctx.run([&] { request.set(request_info{make_job_id(name), {}, name, request_kind::job}); });
  co_return co_await co_run(std::move(job_ctx), std::move(job));
}

/// As above for plain callables: runs `f()` now, on this thread, in a fresh
/// job context, and returns its result.
template <class F>
requires std::is_invocable_v<F&&>
decltype(auto) job_context(std::string_view name, F&& f) {
  context job_ctx;
  return job_ctx.run([&]() -> decltype(auto) {
    request.set(request_info{make_job_id(name), {}, std::string(name), request_kind::job});
    return std::invoke(std::forward<F>(f));
  });
}

}  // namespace aiolocals

namespace boost::asio {

/// `aiolocals::bind(f)` keeps `f`'s associated executor, allocator,
/// cancellation slot and immediate executor: wrapping never changes where or
/// how a handler runs.
template <template <class, class> class Associator, class F, class DefaultCandidate>
struct associator<Associator, aiolocals::bound_function<F>, DefaultCandidate> {
  using type = typename Associator<F, DefaultCandidate>::type;
  static type get(const aiolocals::bound_function<F>& b) noexcept {
    return Associator<F, DefaultCandidate>::get(b.get());
  }
  static auto get(const aiolocals::bound_function<F>& b, const DefaultCandidate& candidate) noexcept
      -> decltype(Associator<F, DefaultCandidate>::get(b.get(), candidate)) {
    return Associator<F, DefaultCandidate>::get(b.get(), candidate);
  }
};

}  // namespace boost::asio
