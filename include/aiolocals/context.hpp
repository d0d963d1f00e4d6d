// SPDX-License-Identifier: BSL-1.0
// aiolocals/context.hpp - the values of every task-local, as one handle.
//
// A `context` is what Python's `contextvars.Context` is: a mapping from each
// `aiolocals::local<T>` to its value. Every thread always has exactly one
// *current* context; `local<T>::get()` reads it, `local<T>::set()` writes it.
//
//   context::current()   handle to the calling thread's current context
//   context{}            a fresh, empty context
//   ctx.copy()           an independent copy, O(1) whatever the number of values
//   ctx.child()          the copy a spawned task starts from: without the
//                        values of locals declared `not_inherited`
//   ctx.run(f, args...)  run f with ctx current, then restore (also on throw)
//   scope guard{ctx};    the same for a block (RAII)
//   bind(f)              f, to be run later in a copy of today's context
//
// Model: a `context` is a reference-counted *handle* (like `std::shared_ptr`):
// copying the handle shares the context, `copy()` makes a new one. Values
// live in an immutable-once-shared table: `copy()` shares the table and bumps
// one reference count; the first write to a shared table clones it (one
// allocation plus one reference-count increment per value set), later writes
// to the now-unshared table are done in place.
//
// Thread-safety: handles may be copied, moved and destroyed on any thread.
// A context is *entered* (made current by `run`/`scope`) on at most one
// thread at a time; entering it on a second thread while it is entered on a
// first throws `context_error` (Python raises `RuntimeError` there). Entering
// the context that is already current on this thread is allowed and nests.
// Reading a context that is not entered, or that this thread has entered, is
// safe; copies are independent and may be entered on different threads.
//
// Each thread starts in its own empty root context. Nothing crosses from one
// thread to another except through `bind`, `run`, `scope` or a copy.
#pragma once

#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "aiolocals/detail/context_state.hpp"

namespace aiolocals {

/// Thrown when a context is entered on one thread while another thread has it
/// entered. Always a bug in the caller: give each task its own `copy()`.
class context_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class context;
template <class T>
class local;

/// Every thread has a root context, current whenever no other is entered.
/// On a thread that runs an event loop (an io_context, a thread_pool) the
/// root is shared by every handler that thread runs, so a value set there
/// would leak into unrelated tasks: `local<T>::set` therefore throws
/// context_error when it would write the root context from inside an Asio
/// handler (checked once aiolocals/asio.hpp is included anywhere in the
/// program). The fix is to start the task in its own context
/// (`aiolocals::co_spawn`, `aiolocals::track_requests`, `aiolocals::bind`).
/// Programs that really want per-thread state call `allow_root_writes()`
/// once. Process-wide; thread-safe; the check costs one compare per `set`
/// outside the root.
void allow_root_writes(bool allow = true) noexcept;

/// A handle to one context (see the file comment). Cheap to copy: one atomic
/// increment. Equality is identity: two handles to the same context.
class context {
 public:
  /// A fresh context in which no local is set. One allocation.
  context() : impl_(detail::new_impl()) {}

  /// The calling thread's current context (the same object, not a copy):
  /// writes made through it are seen by the thread. O(1); the first call on a
  /// thread that never entered a context creates its root (one allocation).
  static context current() {
    detail::context_impl* impl = detail::current_impl();
    detail::acquire(impl);
    return context(impl);
  }

  /// An independent context holding the same values: later writes to either
  /// are never seen by the other. O(1): one small allocation and one atomic
  /// increment, whatever the number of values. Call it on a context that is
  /// not entered, or on the thread that has it entered.
  context copy() const { return context(detail::copy_impl(impl_)); }

  /// The context a task spawned from this one starts in: as `copy()`, but
  /// without the values of locals declared `not_inherited` (local.hpp).
  /// What `aiolocals::co_spawn`, `bind(f)` and the awaitable operators'
  /// branches take. O(1) as `copy()` while no not-inherited local is set
  /// here; else one table holding the inherited values (one allocation and
  /// one atomic increment per value). Thread-safety as `copy()`.
  context child() const { return context(detail::child_impl(impl_)); }

  /// Runs `f(args...)` with this context current on the calling thread and
  /// restores the previous context on return and on exception. Writes made
  /// by `f` stay in this context. Cost around the call: a compare-exchange
  /// to enter, a release store to leave, no allocation (figures in
  /// docs/benchmarks.md).
  /// Throws context_error if another thread has this context entered.
  /// (const: running code in a context is not a change of the handle; the
  /// values it writes are the context's, shared by every handle to it.)
  template <class F, class... Args>
  decltype(auto) run(F&& f, Args&&... args) const;

  /// The value of `var` stored in this context, or null (defaults ignored).
  /// Valid until `var` is next written in this context. No allocation.
  template <class T>
  const T* find(const local<T>& var) const noexcept;

  context(const context& other) noexcept : impl_(other.impl_) { detail::acquire(impl_); }
  context(context&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
  context& operator=(context other) noexcept {
    std::swap(impl_, other.impl_);
    return *this;
  }
  // Forced inline: executors drop a context handle on every queued
  // function, and GCC left this as a call there (docs/benchmarks.md).
  [[gnu::always_inline]] ~context() {
    if (impl_ != nullptr) detail::release(impl_);
  }

  friend bool operator==(const context& a, const context& b) noexcept { return a.impl_ == b.impl_; }

 private:
  friend class scope;
  friend struct detail::context_access;
  explicit context(detail::context_impl* impl) noexcept : impl_(impl) {}
  detail::context_impl* impl_;  // null only after a move
};

/// RAII: makes a context current for the enclosing block, then restores the
/// previous one. `scope guard;` enters a fresh empty context (the seed's
/// `with Context(...)`); `scope guard{ctx};` enters `ctx`, which must outlive
/// the guard (as a mutex outlives a `std::lock_guard`); `scope
/// guard{std::move(ctx)}` keeps the context alive itself.
///
/// A scope is for synchronous code: it must be destroyed on the thread that
/// made it, innermost first, before that code returns to an event loop. In
/// a coroutine, do not hold one across `co_await` (the coroutine may resume
/// on another thread, interleaved with others); use
/// `co_await aiolocals::co_run(ctx, body())` (aiolocals/asio.hpp) instead.
/// Misuse is caught, never left to corrupt memory: a coroutine that suspends
/// with a scope open on one of our executors (`aiolocals::co_spawn`,
/// `track_requests`, any `context_executor`) makes the
/// adapter throw `context_error` at that suspension; on an executor that
/// enters no context (a plain `asio::co_spawn(io, ...)`), whose suspensions
/// nothing sees, opening a scope in a coroutine's frame (or anywhere off the
/// thread's stack) while the thread runs an Asio handler in its root context
/// throws `context_error` at once, naming the fix; a guard destroyed out of
/// order or on another thread prints what happened and calls std::terminate.
/// Cost: enter and leave (docs/benchmarks.md), no allocation. Not copyable
/// or movable.
class scope {
 public:
  /// Enters a fresh empty context.
  scope() : scope(context{}) {}
  /// Enters `ctx`, which the caller keeps alive. Throws context_error if
  /// another thread has it entered, or if the guard is placed where a
  /// suspension could leave it open unseen (see above).
  explicit scope(const context& ctx)
      : entered_(checked_placement(ctx.impl_)), previous_(detail::enter(entered_)) {
    push();
  }
  /// Enters `ctx` and owns it for the guard's lifetime.
  explicit scope(context&& ctx)
      : owned_(std::move(ctx)),
        entered_(checked_placement(owned_.impl_)),
        previous_(detail::enter(entered_)) {
    push();
  }
  ~scope() {
    detail::thread_state& state = detail::this_thread;
    if (state.innermost == this) [[likely]] {
      state.innermost = outer_;
      detail::leave(entered_, previous_);
    } else if (!abandoned_) {
      misused();  // out of order or on another thread: never touch previous_
    }
  }

  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

 private:
  friend class context;
  friend void detail::abandon_scopes(scope* mark) noexcept;
  // context::run's guard, on run's own stack frame: nothing to check.
  struct on_callers_stack {};
  scope(const context& ctx, on_callers_stack)
      : entered_(ctx.impl_), previous_(detail::enter(entered_)) {
    push();
  }
  // A guard opened in the thread's root context (nothing entered: no
  // adapter of ours will see the opener suspend) is checked out of line;
  // anywhere else this is two loads and a compare.
  detail::context_impl* checked_placement(detail::context_impl* impl) const {
    const detail::thread_state& state = detail::this_thread;
    if (state.current == state.root) [[unlikely]]
      detail::check_scope_placement(this);
    return impl;
  }
  void push() noexcept {
    detail::thread_state& state = detail::this_thread;
    outer_ = state.innermost;
    state.innermost = this;
  }
  [[noreturn]] void misused() const noexcept;

  context owned_{static_cast<detail::context_impl*>(nullptr)};
  detail::context_impl* entered_;
  detail::context_impl* previous_;
  scope* outer_ = nullptr;  // the scope that was innermost when this one opened
  bool abandoned_ = false;  // closed by an executor adapter (see abandon_scopes)
};

namespace detail {
// The integrations' way to a context's internals; not for applications.
struct context_access {
  static context_impl* impl(const context& ctx) noexcept { return ctx.impl_; }
  // context::current().copy() without taking and dropping a reference to
  // the current context.
  static context copy_of_current() { return context(copy_impl(current_impl())); }
  // context::current().child(), likewise.
  static context child_of_current() { return context(child_impl(current_impl())); }
  // A handle that takes over one reference the caller holds on `impl`.
  static context adopt(context_impl* impl) noexcept { return context(impl); }
  // A fresh context whose only value is `value` for `var`, made without
  // entering it (no entry, no token): what request tracking stores per
  // request. Defined in local.hpp.
  template <class T, class... Args>
  static context holding(const local<T>& var, Args&&... args);
  // A copy of the current context in which `var` holds the value made from
  // `args`, made without entering it (what a span block runs in). Defined
  // in local.hpp.
  template <class T, class... Args>
  static context copy_of_current_holding(const local<T>& var, Args&&... args);
  // A new handle to `impl` (one more reference).
  static context share(context_impl* impl) noexcept {
    acquire(impl);
    return context(impl);
  }
};
}  // namespace detail

template <class F, class... Args>
decltype(auto) context::run(F&& f, Args&&... args) const {
  scope guard(*this, scope::on_callers_stack{});
  return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
}

/// The callable returned by `bind`: `f` plus the context it runs in. Each
/// call runs `f` inside that context (the same one for every call and every
/// copy of the wrapper, as asyncio's `call_soon(cb, context=ctx)`), so calls
/// must not overlap in time: give concurrent callers their own `bind`.
/// Calling it is noexcept when `f` is; a double entry then terminates.
template <class F>
class bound_function {
 public:
  template <class G>
  bound_function(G&& f, context ctx) : function_(std::forward<G>(f)), context_(std::move(ctx)) {}

  template <class... Args>
  decltype(auto) operator()(Args&&... args) & noexcept(std::is_nothrow_invocable_v<F&, Args...>) {
    return context_.run(function_, std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const& noexcept(
      std::is_nothrow_invocable_v<const F&, Args...>) {
    return context_.run(function_, std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) && noexcept(std::is_nothrow_invocable_v<F&&, Args...>) {
    return context_.run(std::move(function_), std::forward<Args>(args)...);
  }

  /// The wrapped callable, for associators and introspection.
  const F& get() const noexcept { return function_; }
  F& get() noexcept { return function_; }
  /// The context every call runs in.
  const context& get_context() const noexcept { return context_; }

 private:
  F function_;
  context context_;
};

/// Returns `f` wrapped so that it runs in a copy of the context current now
/// (what asyncio does for `call_soon`): hand it to `std::thread`, a thread
/// pool or any callback API and the values travel with it. The copy is
/// `context::child()`: locals declared `not_inherited` stay behind (a
/// callback that must see them, the same task's own continuation, takes
/// `bind(context::current().copy(), f)`). O(1) unless such a local is set;
/// later writes by the caller are not seen by `f`, nor `f`'s by the caller.
/// Thread-safe; the copy is taken on the calling thread.
template <class F>
[[nodiscard]] bound_function<std::decay_t<F>> bind(F&& f) {
  return {std::forward<F>(f), detail::context_access::child_of_current()};
}

/// As `bind(f)`, but runs `f` in `ctx` itself (not a copy).
template <class F>
[[nodiscard]] bound_function<std::decay_t<F>> bind(context ctx, F&& f) {
  return {std::forward<F>(f), std::move(ctx)};
}

}  // namespace aiolocals
