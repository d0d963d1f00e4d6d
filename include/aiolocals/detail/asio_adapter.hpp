// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/asio_adapter.hpp - internals of the Asio adapter: the
// function wrapper that enters a context, the registry that recognises our
// adapters inside an any_io_executor, and the root-write probe. Not public.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "aiolocals/context.hpp"

namespace aiolocals {
template <class Executor>
class context_executor;

namespace detail {

// What the adapter hands to its inner executor: the user's function plus the
// context to run it in, entered only when the function really runs (perhaps
// later, on another thread). While it runs, the thread's `outside` names
// what was current before.
template <class Function, class Executor>
class context_entering_function {
 public:
  template <class F, class Inner>
  context_entering_function(F&& function, context&& ctx, Inner&& inner)
      : function_(std::forward<F>(function)),
        context_(std::move(ctx)),
        inner_(std::forward<Inner>(inner)) {}

  [[gnu::always_inline]] void operator()() {
    context_impl* impl = context_access::impl(context_);
    context_impl* previous = nullptr;
    if (!try_enter(impl, previous)) [[unlikely]] {
      repost(std::move(*this));
      return;
    }
    thread_state& state = this_thread;
    scope* const mark = state.innermost;
    context_impl* const outer = std::exchange(state.outside, previous);
    try {
      std::move(function_)();
    } catch (...) {
      finish(impl, previous, mark, outer);
      throw;
    }
    if (finish(impl, previous, mark, outer)) throw_scope_left_open();
  }

 private:
  // Another thread is running this context now. Run after it, not beside
  // it: re-post rather than block this thread or throw. Queued as a type of
  // its own and kept out of line: were it queued as this type, the
  // inner executor's `execute<context_entering_function>` would have two
  // callers and GCC would stop inlining it (and the scheduler's post) into
  // every `post` (measured in docs/benchmarks.md; why: docs/design.md).
  struct reposted {
    context_entering_function function;
    void operator()() { function(); }
  };
  [[gnu::cold, gnu::noinline]] static void repost(context_entering_function&& self) {
    Executor inner = self.inner_;
    boost::asio::execution::execute(
        boost::asio::prefer(std::move(inner), boost::asio::execution::blocking.never),
        reposted{std::move(self)});
  }

  // Leaves the context; true if the function returned with a scope still
  // open (held across co_await), which is closed and reported.
  [[gnu::always_inline]] static bool finish(context_impl* impl, context_impl* previous,
                                            scope* mark, context_impl* outer) noexcept {
    thread_state& state = this_thread;
    const bool scope_left_open = state.innermost != mark;
    if (scope_left_open) abandon_scopes(mark);
    state.outside = outer;
    leave(impl, previous);
    return scope_left_open;
  }

  Function function_;
  context context_;
  Executor inner_;
};

// What our adapters answer to a query: the inner executor's answer, except
// that `blocking.always` reads as `blocking.possibly` (as for asio::strand:
// a function whose context another thread runs is re-posted).
template <class Executor, class Property>
decltype(auto) query_inner(const Executor& inner, const Property& property) noexcept(
    boost::asio::is_nothrow_query<const Executor&, Property>::value) {
  if constexpr (std::is_convertible_v<Property, boost::asio::execution::blocking_t>) {
    boost::asio::execution::blocking_t result = boost::asio::query(inner, property);
    return result == boost::asio::execution::blocking.always
               ? boost::asio::execution::blocking_t(boost::asio::execution::blocking.possibly)
               : result;
  } else {
    return boost::asio::query(inner, property);
  }
}

// Properties the adapter forwards: all but blocking.always (see require).
template <class Property>
concept forwardable =
    !std::is_convertible_v<Property, boost::asio::execution::blocking_t::always_t>;

// The executor interface our adapters share, shaped like asio::strand's:
// `query` forwards (query_inner), `require`/`prefer` forward and re-wrap the
// result with the adapter's handle, copied from an lvalue and moved out of a
// temporary (as in Asio's own require/prefer chains: no reference-count
// traffic). `blocking.always` is refused (no overload), as by asio::strand:
// the adapter cannot promise to run a function inline. `Adapter` provides
// `inner_`, `copy_handle()`, `take_handle()` and a static `rewrap(inner,
// handle)`, and befriends this class.
template <class Adapter, class Executor>
class adapter_interface {
 public:
  /// Forwards a query to the inner executor (`blocking.always` reads as
  /// `blocking.possibly`).
  /// @code
  /// auto& io = asio::query(ex, asio::execution::context);
  /// @endcode
  template <class Property>
  requires boost::asio::can_query<const Executor&, Property>::value decltype(auto) query(
      const Property& property) const
      noexcept(boost::asio::is_nothrow_query<const Executor&, Property>::value) {
    return query_inner(self().inner_, property);
  }

  /// Forwards a requirement to the inner executor and wraps the result.
  /// @code
  /// auto never = asio::require(ex, asio::execution::blocking.never);
  /// @endcode
  template <class Property>
  requires forwardable<Property> && boost::asio::can_require<const Executor&, Property>::value auto
  require(const Property& property) const& {
    return Adapter::rewrap(boost::asio::require(self().inner_, property), self().copy_handle());
  }
  template <class Property>
  requires forwardable<Property> && boost::asio::can_require<const Executor&, Property>::value auto
  require(const Property& property) && {
    Adapter& adapter = static_cast<Adapter&>(*this);
    return Adapter::rewrap(boost::asio::require(adapter.inner_, property), adapter.take_handle());
  }

  /// Forwards a preference to the inner executor and wraps the result.
  /// @code
  /// auto tracked = asio::prefer(ex, asio::execution::outstanding_work.tracked);
  /// @endcode
  template <class Property>
  requires forwardable<Property> && boost::asio::can_prefer<const Executor&, Property>::value auto
  prefer(const Property& property) const& {
    return Adapter::rewrap(boost::asio::prefer(self().inner_, property), self().copy_handle());
  }
  template <class Property>
  requires forwardable<Property> && boost::asio::can_prefer<const Executor&, Property>::value auto
  prefer(const Property& property) && {
    Adapter& adapter = static_cast<Adapter&>(*this);
    return Adapter::rewrap(boost::asio::prefer(adapter.inner_, property), adapter.take_handle());
  }

 private:
  const Adapter& self() const noexcept { return static_cast<const Adapter&>(*this); }
};

// How an adapter of ours is recognised inside an any_io_executor whatever
// it wraps: each adapter type adds one entry (when its first object is made)
// saying how to re-wrap its inner executor with another context. Entries are
// only added (lock-free push), never removed.
struct peeler {
  const std::type_info* type;
  boost::asio::any_io_executor (*rewrap)(const boost::asio::any_io_executor&, context&&);
  peeler* next;
};
inline constinit std::atomic<peeler*> peelers{nullptr};

template <class Adapter>
bool register_peeler() {
  if constexpr (std::is_convertible_v<Adapter, boost::asio::any_io_executor>) {
    using inner_type = typename Adapter::inner_executor_type;
    static peeler entry{
        &typeid(Adapter),
        [](const boost::asio::any_io_executor& ex, context&& ctx) {
          const Adapter* adapter = ex.template target<Adapter>();
          return boost::asio::any_io_executor(
              context_executor<inner_type>(adapter->get_inner_executor(), std::move(ctx)));
        },
        nullptr};
    entry.next = peelers.load(std::memory_order_relaxed);
    while (!peelers.compare_exchange_weak(entry.next, &entry, std::memory_order_release,
                                          std::memory_order_relaxed)) {
    }
  }
  return true;
}

// The registry entry for `ex`'s target if it is an adapter of ours, else null.
inline const peeler* find_peeler(const boost::asio::any_io_executor& ex) noexcept {
  if (!ex) return nullptr;
  const std::type_info& type = ex.target_type();
  peeler* const first = peelers.load(std::memory_order_acquire);
  // One type has one type_info object within a binary: compare addresses
  // first (type_info's == compares mangled names, long and alike here),
  // names only for a type made in another shared object.
  for (peeler* p = first; p != nullptr; p = p->next) {
    if (p->type == &type) return p;
  }
  for (peeler* p = first; p != nullptr; p = p->next) {
    if (*p->type == type) return p;
  }
  return nullptr;
}

// The inner executor of `ex` wrapped with `ctx` if `ex` holds an adapter of
// ours, else nothing.
inline std::optional<boost::asio::any_io_executor> peel(const boost::asio::any_io_executor& ex,
                                                        context& ctx) {
  if (const peeler* p = find_peeler(ex)) return p->rewrap(ex, std::move(ctx));
  return std::nullopt;
}

// The integration's answer to "is this thread running an Asio handler?"
// (true inside io_context::run and on thread_pool threads), given to the
// core's root-write and scope-placement checks.
inline bool thread_runs_asio_handlers() noexcept {
  return boost::asio::detail::thread_context::top_of_thread_call_stack() != nullptr;
}
// Installs it once: called by every context_executor's constructor (so
// before anything of ours runs on an executor), and at start-up by every
// program that includes this header, so that a coroutine on a bare
// io_context is checked too (where the compiler initialises namespace-scope
// variables before main, as GCC and Clang do; the standard allows deferring).
inline bool install_asio_probe() noexcept {
  static const bool installed = (install_handler_probe(&thread_runs_asio_handlers), true);
  return installed;
}
inline const bool asio_probe_installed_at_start_up = install_asio_probe();

}  // namespace detail
}  // namespace aiolocals
