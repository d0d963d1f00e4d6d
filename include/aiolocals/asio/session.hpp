// SPDX-License-Identifier: BSL-1.0
// aiolocals/asio/session.hpp - a connection's coroutine (a session) that
// serves requests one after another, each in its own context, without a
// task per request. Target `aiolocals::asio`.
//
//   asio::co_spawn(ex, serve_connection(...), asio::detached);              // works
//   aiolocals::co_spawn_session(ex, serve_connection(...), asio::detached); // faster
//
// `track_requests` (aiolocals/beast.hpp) gives every request a fresh context.
// Called from a plain coroutine, it must run the handler as a task of its own
// (an `asio::co_spawn` onto a `context_executor`: about half of its cost per
// request). Called from a session's own coroutine, it switches the session
// into the request's context instead and back when the handler returns.
//
// How it stays right. A session runs on a `session_executor`, which enters
// the session's context (a copy of the spawner's). While a request is being
// handled, a copy that the session's coroutine makes of its own executor, on
// the thread running it in the request's context, is an executor of that
// request's context for good: every resumption of the handler, every child
// started with plain `asio::co_spawn(co_await this_coro::executor, ...)`,
// every operation it starts keeps the request's context, after the request
// has ended too, as with a task per request. A copy made anywhere else (a
// child started before the request, another thread, the session between
// requests) is an executor of the session's context, never of a request's:
// a coroutine that outlives its request can never log the next one's id.
// Anything the fast path cannot prove (a tracked handler called from a child
// task, or nested in another) takes the task-per-request path. So does every
// request of a session over an executor too big for `any_io_executor`'s
// small buffer (a strand: 16 bytes, ours adds 8): `any_io_executor` then
// shares one object between its copies instead of copying it, and no copy
// can be told apart. Over an io_context's or a thread_pool's executor (the
// usual case) the fast path applies.
//
// Cost: one allocation per session; per request, two context swaps (a
// compare-exchange each) instead of a co_spawn (figures in
// docs/benchmarks.md). Thread-safety: as `context_executor`'s.
#pragma once

#include <cstdint>
#include <utility>

#include "aiolocals/asio/context_executor.hpp"
#include "aiolocals/detail/asio_spawn.hpp"

namespace aiolocals {

template <class Executor>
class session_executor;

namespace detail {

struct session_factory;

// What every executor of one session shares: the session's own context and
// the context its coroutine runs in now (null until it starts: the copies
// Asio makes while spawning it stay the session's own).
struct session_state {
  explicit session_state(context session) : session_context(std::move(session)) {}

  std::atomic<std::uint32_t> references{1};
  const context session_context;
  // Written only by the thread running the session's coroutine; read by any
  // copy, and dereferenced only by a thread that has this context entered.
  std::atomic<context_impl*> current{nullptr};

  context_impl* own() const noexcept { return context_access::impl(session_context); }
  void acquire() noexcept { references.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

// One request of a session, handled in the session's own coroutine: `begin`
// swaps the session into the request's context, `end` back. Both refuse
// (false) whatever they cannot prove safe, and the caller then falls back
// to a task of its own.
class session_request {
 public:
  session_request(session_state& session, const context& request) noexcept
      : session_(session), request_(context_access::impl(request)) {}
  session_request(const session_request&) = delete;
  session_request& operator=(const session_request&) = delete;
  ~session_request() {
    // Destroyed mid-request (the frame torn down without resuming): copies
    // made from now on must not reach the request's context.
    if (begun_) session_.current.store(session_.own(), std::memory_order_relaxed);
  }

  // On the thread running the session in its own context, between requests.
  bool begin() noexcept {
    context_impl* const own = session_.own();
    if (session_.current.load(std::memory_order_relaxed) != own) return false;
    if (!replace_entry(own, request_)) return false;
    session_.current.store(request_, std::memory_order_relaxed);
    begun_ = true;
    return true;
  }
  // After the handler: from now on copies resolve to the session's context;
  // true if this thread is back in it, false if the caller must still leave
  // the request's context by a resumption (another thread runs the session's
  // context now, or the handler returned somewhere `replace_entry` refuses).
  bool end() noexcept {
    begun_ = false;
    session_.current.store(session_.own(), std::memory_order_relaxed);
    return replace_entry(request_, session_.own());
  }

 private:
  session_state& session_;
  context_impl* request_;
  bool begun_ = false;
};

}  // namespace detail

/// The executor a session's coroutine runs on (see the file comment): it
/// runs functions in the session's context, or in the context of the request
/// that was being handled when it was copied. Made by `co_spawn_session`;
/// you rarely name it. Shaped like `context_executor` (`query` forwards,
/// `require`/`prefer` re-wrap, converts to `any_io_executor`; fits in its
/// small-object buffer over an io_context executor).
///
/// Cost: as `context_executor` (a copy is one atomic increment); a copy of
/// the session's own executor also reads which context it runs in now.
/// Thread-safety: as the inner executor's; the functions of one context
/// never run on two threads at once.
template <class Executor>
class session_executor : public detail::adapter_interface<session_executor<Executor>, Executor> {
 public:
  /// The wrapped executor's type.
  using inner_executor_type = Executor;

  session_executor(const session_executor& other) noexcept
      : inner_(other.inner_), word_(other.copy_word()) {}
  session_executor(session_executor&& other) noexcept
      : inner_(std::move(other.inner_)), word_(std::exchange(other.word_, 0)) {}
  /// Converts from a session executor over a compatible executor.
  template <class OtherExecutor>
  requires std::is_constructible_v<Executor, const OtherExecutor&> session_executor(
      const session_executor<OtherExecutor>& other)  // NOLINT
      : inner_(other.inner_), word_(other.copy_word()) {}
  session_executor& operator=(session_executor other) noexcept {
    std::swap(inner_, other.inner_);
    std::swap(word_, other.word_);
    return *this;
  }
  ~session_executor() { drop(word_); }

  /// The wrapped executor.
  inner_executor_type get_inner_executor() const noexcept { return inner_; }

  /// The context functions run in: the session's, or a request's.
  context get_context() const noexcept { return context_access::share(effective()); }

  /// Submits `f` to the inner executor; it runs inside the context this
  /// executor stands for, as with `context_executor`.
  template <class Function>
  void execute(Function&& f) const& {
    submit(std::forward<Function>(f), context_access::share(effective()));
  }
  /// (On a temporary, a request's context handle is moved, not copied.)
  template <class Function>
  void execute(Function&& f) && {
    if (tag() == resolved && word_ != 0) {
      submit(std::forward<Function>(f),
             context_access::adopt(reinterpret_cast<context_impl*>(std::exchange(word_, 0))));
    } else {
      submit(std::forward<Function>(f), context_access::share(effective()));
    }
  }

  friend bool operator==(const session_executor& a, const session_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.effective() == b.effective();
  }
  friend bool operator!=(const session_executor& a, const session_executor& b) noexcept {
    return !(a == b);
  }

 private:
  template <class>
  friend class session_executor;
  friend struct detail::session_factory;
  friend class detail::adapter_interface<session_executor, Executor>;
  friend detail::session_state* own_session_of(const session_executor& ex) noexcept {
    return ex.tag() == own_copy ? ex.state() : nullptr;
  }

  using context_access = detail::context_access;
  using context_impl = detail::context_impl;
  using session_state = detail::session_state;
  using repost_executor = std::decay_t<typename boost::asio::prefer_result<
      const Executor&, boost::asio::execution::outstanding_work_t::untracked_t>::type>;

  // What the word holds, in its low two bits (both pointees are aligned):
  //  resolved   a context_impl* with a reference: run in that context;
  //  own_copy   a session_state* with a reference: the session's context,
  //             copied by the session's own coroutine (track_requests looks
  //             for it to know it runs in the session itself);
  //  unresolved a session_state* with a reference: the session's executor
  //             itself; copies resolve as the file comment says.
  enum tag_bits : std::uintptr_t { resolved = 0, own_copy = 1, unresolved = 2, tag_mask = 3 };

  session_executor(const Executor& inner, std::uintptr_t word) : inner_(inner), word_(word) {
    (void)peelable_;
  }
  session_executor(Executor&& inner, std::uintptr_t word) : inner_(std::move(inner)), word_(word) {
    (void)peelable_;
  }

  template <class Inner>
  static session_executor<std::decay_t<Inner>> rewrap(Inner&& inner, std::uintptr_t word) {
    return {std::forward<Inner>(inner), word};
  }
  // A copy's word (see copy_word), or this one's, taken (a temporary's).
  std::uintptr_t copy_handle() const noexcept { return copy_word(); }
  std::uintptr_t take_handle() noexcept { return std::exchange(word_, 0); }

  template <class Function>
  void submit(Function&& f, context ctx) const {
    boost::asio::execution::execute(
        inner_,
        detail::context_entering_function<std::decay_t<Function>, repost_executor, true>(
            std::forward<Function>(f), std::move(ctx),
            boost::asio::prefer(inner_, boost::asio::execution::outstanding_work.untracked)));
  }

  std::uintptr_t tag() const noexcept { return word_ & tag_mask; }
  session_state* state() const noexcept {
    return reinterpret_cast<session_state*>(word_ & ~std::uintptr_t{tag_mask});
  }
  context_impl* effective() const noexcept {
    return tag() == resolved ? reinterpret_cast<context_impl*>(word_) : state()->own();
  }

  static std::uintptr_t resolved_word(context_impl* impl) noexcept {
    detail::acquire(impl);
    return reinterpret_cast<std::uintptr_t>(impl);
  }
  std::uintptr_t copy_word() const noexcept {
    switch (tag()) {
      case resolved:
        if (word_ != 0) detail::acquire(reinterpret_cast<context_impl*>(word_));
        return word_;
      case own_copy:
        return resolved_word(state()->own());
      default: {
        session_state* session = state();
        context_impl* now = session->current.load(std::memory_order_relaxed);
        if (now == nullptr) {  // still being spawned
          session->acquire();
          return word_;
        }
        if (now == detail::this_thread.current) {  // the session's coroutine itself
          if (now != session->own()) return resolved_word(now);
          session->acquire();
          return reinterpret_cast<std::uintptr_t>(session) | own_copy;
        }
        return resolved_word(session->own());
      }
    }
  }
  static void drop(std::uintptr_t word) noexcept {
    if ((word & tag_mask) == resolved) {
      if (word != 0) detail::release(reinterpret_cast<context_impl*>(word));
    } else {
      reinterpret_cast<session_state*>(word & ~std::uintptr_t{tag_mask})->release();
    }
  }

  static detail::session_state* own_session_hook(const session_executor& ex) noexcept {
    return own_session_of(ex);
  }
  static inline const bool peelable_ =
      detail::register_peeler<session_executor, &session_executor::own_session_hook>();

  Executor inner_;
  std::uintptr_t word_;
};

namespace detail {

// The session whose own coroutine made `ex` (a copy of its executor, as
// `co_await this_coro::executor` returns), or null.
template <class Executor>
session_state* own_session(const Executor& ex) noexcept {
  if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    // The common plain executor, told by its type_info's address (target<>
    // compares mangled names: a strcmp per tracked request).
    if (&ex.target_type() == &typeid(boost::asio::io_context::executor_type)) return nullptr;
    const peeler* p = find_peeler(ex);
    return p != nullptr ? p->own_session(ex) : nullptr;
  } else if constexpr (requires { own_session_of(ex); }) {
    return own_session_of(ex);
  } else {
    return nullptr;
  }
}

template <class Executor>
struct is_session_executor : std::false_type {};
template <class Executor>
struct is_session_executor<session_executor<Executor>> : std::true_type {};

// Makes the executors of new sessions.
struct session_factory {
  // A new session's executor on `ex` (any adapter of ours peeled off first;
  // an any_io_executor stays one) and the session's state. The state is
  // made once the inner executor is in hand and belongs to the executor
  // from then on: nothing leaks if a step throws.
  template <class Executor>
  static auto make(const Executor& ex) {
    if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
      using bare_type = boost::asio::io_context::executor_type;
      if (auto* bare = ex.template target<bare_type>()) return adopt<Executor>(*bare);
      const peeler* p = find_peeler(ex);
      return adopt<Executor>(p != nullptr ? p->inner(ex) : ex);
    } else if constexpr (is_context_executor<Executor>::value ||
                         is_session_executor<Executor>::value) {
      using inner_type = typename Executor::inner_executor_type;
      return adopt<session_executor<inner_type>>(ex.get_inner_executor());
    } else {
      return adopt<session_executor<Executor>>(ex);
    }
  }

 private:
  template <class Result, class Inner>
  static std::pair<Result, session_state*> adopt(Inner inner) {
    auto* state = new session_state(context_access::copy_of_current());
    session_executor<Inner> owner(std::move(inner), reinterpret_cast<std::uintptr_t>(state) |
                                                        session_executor<Inner>::unresolved);
    return {Result(std::move(owner)), state};
  }
};

// The tag bits of session_executor's word need pointees aligned to 4.
static_assert(alignof(session_state) >= 4 && alignof(context_impl) >= 4);

// The session's coroutine: from its first resumption on, copies of its
// executor resolve (see the file comment).
template <class T, class AwaitableExecutor>
boost::asio::awaitable<T, AwaitableExecutor> run_session(
    session_state* session, boost::asio::awaitable<T, AwaitableExecutor> body) {
  session->current.store(session->own(), std::memory_order_relaxed);
  co_return co_await std::move(body);
}

}  // namespace detail

/// Spawns a session: a coroutine that serves requests one after another
/// (a connection's loop calling a `track_requests` handler), in a context of
/// its own (an O(1) copy of the caller's, as `aiolocals::co_spawn` gives),
/// on a `session_executor` over `ex` (an adapter of ours on `ex` is peeled
/// off, not stacked). Each tracked request is then handled in the session's
/// own coroutine, switched into the request's context, instead of as a task
/// of its own. Same completion-token contract as `aiolocals::co_spawn` (a
/// callback without an executor of its own runs in a copy of the caller's
/// context). Cost: one allocation and one coroutine frame per session.
/// Thread-safety: as `asio::co_spawn`.
/// @code
/// aiolocals::co_spawn_session(acceptor.get_executor(),
///                             serve_connection(std::move(socket), tracked),
///                             asio::detached);
/// @endcode
template <class Executor, class T, class AwaitableExecutor,
          class CompletionToken = boost::asio::default_completion_token_t<Executor>>
requires(boost::asio::execution::is_executor<Executor>::value) auto co_spawn_session(
    const Executor& ex, boost::asio::awaitable<T, AwaitableExecutor> session,
    CompletionToken&& token = {}) {
  // Asio's copies of the spawner (all made before the session first runs)
  // stay the session's own executor.
  auto [spawner, state] = detail::session_factory::make(ex);
  return detail::spawn_with_context(std::move(spawner), state->own(),
                                    detail::run_session(state, std::move(session)),
                                    std::forward<CompletionToken>(token));
}

/// As above, on an execution context's executor (`co_spawn_session(io, ...)`).
template <class ExecutionContext, class T, class AwaitableExecutor,
          class CompletionToken =
              boost::asio::default_completion_token_t<typename ExecutionContext::executor_type>>
requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
auto co_spawn_session(ExecutionContext& execution_context,
                      boost::asio::awaitable<T, AwaitableExecutor> session,
                      CompletionToken&& token = {}) {
  return aiolocals::co_spawn_session(execution_context.get_executor(), std::move(session),
                                     std::forward<CompletionToken>(token));
}

}  // namespace aiolocals
