// aiolocals/context.hpp - the values of every task-local, as one handle.
//
// A `context` is what Python's `contextvars.Context` is: a mapping from each
// `aiolocals::local<T>` to its value. Every thread always has exactly one
// *current* context; `local<T>::get()` reads it, `local<T>::set()` writes it.
//
//   context::current()   handle to the calling thread's current context
//   context{}            a fresh, empty context
//   ctx.copy()           an independent copy, O(1) whatever the number of values
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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace aiolocals {

/// Thrown when a context is entered on one thread while another thread has it
/// entered. Always a bug in the caller: give each task its own `copy()`.
class context_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class context;
class scope;
template <class T>
class local;

namespace detail {

// One value of one local. Immutable once published; shared between the
// tables of every context copy that holds it.
struct value_node {
  std::atomic<std::uint32_t> references{1};
  void (*destroy)(value_node*) noexcept;

  void acquire() noexcept { references.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(this);
  }
};

// Keeps the memory of the last freed node of one size on each thread, so
// that setting a local again and again (dropping each token, or with
// `scoped`) reuses it instead of allocating. Trivially destructible
// thread-locals, plus a closer that frees the spare at thread exit; after
// that, freed nodes go straight back to the allocator.
template <std::size_t Size>
struct node_memory {
  static inline constinit thread_local void* spare = nullptr;
  static inline constinit thread_local bool closed = false;

  static void* take() {
    if (void* memory = std::exchange(spare, nullptr)) return memory;
    return ::operator new(Size);
  }
  static void give_back(void* memory) noexcept {
    if (spare != nullptr || closed) {
      ::operator delete(memory);
      return;
    }
    struct closer {
      ~closer() {
        ::operator delete(std::exchange(spare, nullptr));
        closed = true;
      }
    };
    thread_local closer close_at_thread_exit;
    (void)close_at_thread_exit;
    spare = memory;
  }
};

template <class T>
struct typed_node final : value_node {
  T value;

  // A node from this thread's spare memory, or a new allocation.
  template <class... Args>
  static typed_node* make(Args&&... args) {
    using memory = node_memory<sizeof(typed_node)>;
    void* place = memory::take();
    try {
      return ::new (place) typed_node(std::forward<Args>(args)...);
    } catch (...) {
      memory::give_back(place);
      throw;
    }
  }

 private:
  template <class... Args>
  explicit typed_node(Args&&... args) : value(std::forward<Args>(args)...) {
    destroy = [](value_node* node) noexcept {
      auto* self = static_cast<typed_node*>(node);
      self->~typed_node();
      node_memory<sizeof(typed_node)>::give_back(self);
    };
  }
};

// A context's values: a reference count and a size, then `size` slots in
// the same allocation. Shared between copies and never written while
// shared; written in place while unshared. Managed by src/context.cpp.
struct alignas(value_node*) slot_table {
  std::atomic<std::uint32_t> references{1};
  std::uint32_t size = 0;
  value_node** slots() noexcept { return reinterpret_cast<value_node**>(this + 1); }
};
struct context_access;  // lets the integrations reach a context's impl
struct context_impl;

// What `local<T>::get()` reads: a mirror of the current context's value array.
// constinit + trivially destructible, so an access is a plain %fs-relative
// load in a statically linked program (no TLS wrapper call).
struct thread_state {
  value_node* const* values = nullptr;  // current table's slots, or null
  std::uint32_t size = 0;               // number of slots in `values`
  context_impl* current = nullptr;      // null: root context not yet created
};
extern constinit thread_local thread_state this_thread;

// One context. Defined here so that the per-resumption operations (enter,
// leave, reference counting) inline; everything else is in src/context.cpp.
struct context_impl {
  std::atomic<std::uint32_t> references{1};
  // The thread that has this context entered, or null. Only that thread
  // writes it (compare-exchange on entry), so `depth` needs no atomics.
  std::atomic<const thread_state*> owner{nullptr};
  std::uint32_t depth = 0;
  slot_table* table = nullptr;  // null: no value set
};

// Points the thread's view at `impl`'s table (null: the empty root).
inline void view(thread_state& state, context_impl* impl) noexcept {
  slot_table* table = impl != nullptr ? impl->table : nullptr;
  state.values = table != nullptr ? table->slots() : nullptr;
  state.size = table != nullptr ? table->size : 0;
}

// Registers a new local; its index into every table. Indices are not reused.
std::uint32_t allocate_index() noexcept;

// Stores `node` (may be null: unset) at `index` of the current context,
// cloning a shared table first. Returns the previous node (owned by caller).
value_node* exchange_current(std::uint32_t index, value_node* node);

// The node at `index` in `impl`'s table, or null.
inline value_node* find_in(const context_impl* impl, std::uint32_t index) noexcept {
  slot_table* table = impl->table;
  return table != nullptr && index < table->size ? table->slots()[index] : nullptr;
}

context_impl* current_impl();                       // creates this thread's root context if needed
context_impl* new_impl();                           // a fresh, empty context; one reference
context_impl* copy_impl(const context_impl* impl);  // O(1); one reference
void destroy(context_impl* impl) noexcept;          // frees it; the last reference is gone

inline void acquire(context_impl* impl) noexcept {
  impl->references.fetch_add(1, std::memory_order_relaxed);
}
inline void release(context_impl* impl) noexcept {
  if (impl->references.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(impl);
}

// Make `impl` current on this thread, setting `previous` to the context
// that was current. Returns false, changing nothing, if another thread has
// `impl` entered.
inline bool try_enter(context_impl* impl, context_impl*& previous) noexcept {
  thread_state& state = this_thread;
  if (impl->owner.load(std::memory_order_relaxed) != &state) {
    const thread_state* expected = nullptr;
    if (!impl->owner.compare_exchange_strong(expected, &state, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
      return false;
    }
  }
  ++impl->depth;
  previous = state.current;
  state.current = impl;
  view(state, impl);
  return true;
}

// As try_enter, but throws context_error.
context_impl* enter(context_impl* impl);

// Undo the matching enter(): `previous` becomes current again.
inline void leave(context_impl* impl, context_impl* previous) noexcept {
  if (--impl->depth == 0) impl->owner.store(nullptr, std::memory_order_release);
  thread_state& state = this_thread;
  state.current = previous;
  view(state, previous);
}

}  // namespace detail

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

  /// Runs `f(args...)` with this context current on the calling thread and
  /// restores the previous context on return and on exception. Writes made
  /// by `f` stay in this context. Cost: ~13 ns around the call (a
  /// compare-exchange to enter, a release store to leave), no allocation.
  /// Throws context_error if another thread has this context entered.
  template <class F, class... Args>
  decltype(auto) run(F&& f, Args&&... args);

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
  ~context() {
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
/// guard{std::move(ctx)}` keeps the context alive itself. Must be destroyed
/// on the thread that created it, in reverse order of creation.
/// Cost: enter and leave, ~13 ns, no allocation. Not copyable or movable.
class scope {
 public:
  /// Enters a fresh empty context.
  scope() : scope(context{}) {}
  /// Enters `ctx`, which the caller keeps alive. Throws context_error if
  /// another thread has it entered.
  explicit scope(const context& ctx) : entered_(ctx.impl_), previous_(detail::enter(entered_)) {}
  /// Enters `ctx` and owns it for the guard's lifetime.
  explicit scope(context&& ctx)
      : owned_(std::move(ctx)), entered_(owned_.impl_), previous_(detail::enter(entered_)) {}
  ~scope() { detail::leave(entered_, previous_); }

  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

 private:
  context owned_{static_cast<detail::context_impl*>(nullptr)};
  detail::context_impl* entered_;
  detail::context_impl* previous_;
};

namespace detail {
// The integrations' way to a context's internals; not for applications.
struct context_access {
  static context_impl* impl(const context& ctx) noexcept { return ctx.impl_; }
};
}  // namespace detail

template <class F, class... Args>
decltype(auto) context::run(F&& f, Args&&... args) {
  scope guard(*this);
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
  mutable context context_;
};

/// Returns `f` wrapped so that it runs in a copy of the context current now
/// (what asyncio does for `call_soon`): hand it to `std::thread`, a thread
/// pool or any callback API and the values travel with it. The copy is O(1);
/// later writes by the caller are not seen by `f`, nor `f`'s by the caller.
/// Thread-safe; the copy is taken on the calling thread.
template <class F>
[[nodiscard]] bound_function<std::decay_t<F>> bind(F&& f) {
  return {std::forward<F>(f), context::current().copy()};
}

/// As `bind(f)`, but runs `f` in `ctx` itself (not a copy).
template <class F>
[[nodiscard]] bound_function<std::decay_t<F>> bind(context ctx, F&& f) {
  return {std::forward<F>(f), std::move(ctx)};
}

}  // namespace aiolocals
