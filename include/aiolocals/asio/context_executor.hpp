// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio/context_executor.hpp - the executor adapter that runs
// every function inside one context (see aiolocals/asio.hpp for the model,
// costs and limits). Target `aiolocals::asio`.
#pragma once

#include "aiolocals/context.hpp"
#include "aiolocals/detail/asio_adapter.hpp"

namespace aiolocals {

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
class context_executor : public detail::adapter_interface<context_executor<Executor>, Executor> {
 public:
  /// The wrapped executor's type.
  using inner_executor_type = Executor;

  /// Runs functions on `inner`, each inside `ctx` (shared, not copied).
  context_executor(const Executor& inner, context ctx) : inner_(inner), context_(std::move(ctx)) {
    (void)peelable_;
    detail::install_asio_probe();
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
  friend class detail::adapter_interface<context_executor, Executor>;
  template <class Inner>
  static context_executor<std::decay_t<Inner>> rewrap(Inner&& inner, context ctx) {
    return {std::forward<Inner>(inner), std::move(ctx)};
  }
  context copy_handle() const noexcept { return context_; }
  context take_handle() noexcept { return std::move(context_); }

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

}  // namespace detail
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
