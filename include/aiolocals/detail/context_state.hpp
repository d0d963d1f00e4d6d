// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/context_state.hpp - internals of the core: value nodes,
// slot tables, the per-thread state and entering/leaving a context. Not part
// of the public API; included by aiolocals/context.hpp so that the operations
// paid per read and per resumption inline.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace aiolocals {
class scope;
}

namespace aiolocals::detail {

// One value of one local. Immutable once published; shared between the
// tables of every context copy that holds it.
struct value_node {
  std::atomic<std::uint32_t> references{1};
  void (*destroy)(value_node*) noexcept;

  void acquire() noexcept { references.fetch_add(1, std::memory_order_relaxed); }
  // A sole owner frees without the atomic subtraction: with one reference,
  // held by the caller, no other thread can be taking another.
  void release() noexcept {
    if (references.load(std::memory_order_acquire) == 1 ||
        references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      destroy(this);
    }
  }
};

// Keeps the memory of the last freed node of one size on each thread, so
// that setting a local again and again (dropping each token, or with
// `scoped`) reuses it instead of allocating. Trivially destructible
// thread-locals, plus a closer that frees the spare at thread exit; after
// that, freed nodes go straight back to the allocator.
template <std::size_t Size>
struct node_memory {
  // initial-exec, as this_thread: a plain %fs-relative access, where the
  // default model in a shared libaiolocals calls __tls_get_addr each time.
  static inline constinit thread_local void* spare [[gnu::tls_model("initial-exec")]] = nullptr;
  // 0: no closer registered yet on this thread; 1: registered; 2: closed.
  static inline constinit thread_local unsigned char phase [[gnu::tls_model("initial-exec")]] = 0;

  static void* take() {
    if (void* memory = std::exchange(spare, nullptr)) return memory;
    return ::operator new(Size);
  }
  static void give_back(void* memory) noexcept {
    if (spare != nullptr || phase == 2) {
      ::operator delete(memory);
      return;
    }
    if (phase == 0) [[unlikely]]
      register_closer();
    spare = memory;
  }

 private:
  // Once per thread: the closer is a thread_local with a destructor, whose
  // every access goes through the TLS wrapper.
  static void register_closer() noexcept {
    struct closer {
      ~closer() {
        ::operator delete(std::exchange(spare, nullptr));
        phase = 2;
      }
    };
    thread_local closer close_at_thread_exit;
    (void)close_at_thread_exit;
    phase = 1;
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

// Identifies one `local` for the life of the process: keys are never
// reused (64 bits: a process creating a million locals a second runs out
// after half a million years), so a value left in a context by a destroyed
// local can never be read as another local's. 0 marks an empty entry.
// The top bit marks a local declared `not_inherited`: copies for a child
// task (context::child) leave its values out.
struct local_key {
  std::uint64_t key;
  std::uint64_t offset;  // where the key's probes start: hash * sizeof(slot_entry)
};
inline constexpr std::uint64_t not_inherited_key_bit = std::uint64_t{1} << 63;
local_key allocate_key(bool inherited = true) noexcept;

// One entry of a slot table: a local's key and its value (null: unset in
// this context, e.g. after a reset).
struct slot_entry {
  std::uint64_t key;
  value_node* node;
};

// A context's values: an open-addressing hash table (linear probing, at most
// half full) keyed by local, in one allocation. Its size follows the number
// of locals set in the context, not the number ever created. Shared between
// copies and never written while shared; written in place while unshared.
// Managed by src/context.cpp.
struct alignas(slot_entry) slot_table {
  std::atomic<std::uint32_t> references{1};
  std::uint32_t capacity = 0;  // a power of two
  std::uint32_t used = 0;      // entries holding a key
  // Entries holding the key of a not-inherited local: while 0, a child's
  // copy shares the table as copy() does.
  std::uint32_t not_inherited = 0;
  slot_entry* entries() noexcept { return reinterpret_cast<slot_entry*>(this + 1); }
};

// The table of a context with no value: one empty entry, so that a lookup
// needs no null check.
inline constexpr slot_entry empty_entries[1] = {{0, nullptr}};

struct context_impl;
struct context_access;  // lets the integrations reach a context's impl

// What `local<T>::get()` reads: a mirror of the current context's table,
// plus the thread's bookkeeping. constinit + trivially destructible, so an
// access is a plain %fs-relative load (no TLS wrapper call); initial-exec so
// that a shared libaiolocals and dlopen'ed plugins reach it without
// __tls_get_addr.
struct thread_state {
  const slot_entry* entries = empty_entries;  // current table's entries
  std::uint64_t mask = 0;                     // (capacity - 1) * sizeof(slot_entry)
  context_impl* current = nullptr;            // null: root context not yet created
  context_impl* root = nullptr;               // this thread's root context
  scope* innermost = nullptr;                 // the last `scope` opened on this thread
  // What was current when the innermost executor-adapter function of ours
  // started (null: none runs): where a caller resumed inline from inside a
  // finished child's context belongs (see detail/asio_spawn.hpp).
  context_impl* outside = nullptr;
};
extern constinit thread_local thread_state this_thread [[gnu::tls_model("initial-exec")]];

// The value of the local `id` in a table, given its entries and byte mask,
// or null. Byte offsets keep the first probe to one AND and one load on the
// path of a read; further probes (a collision) take the loop.
value_node* lookup_further(const slot_entry* entries, std::uint64_t mask, local_key id) noexcept;
inline value_node* lookup(const slot_entry* entries, std::uint64_t mask, local_key id) noexcept {
  const auto* entry = reinterpret_cast<const slot_entry*>(reinterpret_cast<const char*>(entries) +
                                                          (id.offset & mask));
  if (entry->key == id.key) [[likely]]
    return entry->node;
  return entry->key == 0 ? nullptr : lookup_further(entries, mask, id);
}
inline std::uint64_t byte_mask(std::uint32_t capacity) noexcept {
  return (std::uint64_t{capacity} - 1) * sizeof(slot_entry);
}

// One context. Defined here so that the per-resumption operations (enter,
// leave, reference counting) inline; everything else is in src/context.cpp.
// Those on the path of every queued function (try_enter, leave,
// release_entry, view, acquire, release) are forced inline
// (gnu::always_inline): a few instructions each, yet in a translation unit
// that instantiates many executor adapters GCC left them as calls.
struct context_impl {
  std::atomic<std::uint32_t> references{1};
  // The thread that has this context entered, or null. Only that thread
  // writes it (compare-exchange on entry), so `depth` needs no atomics.
  std::atomic<const thread_state*> owner{nullptr};
  std::uint32_t depth = 0;
  slot_table* table = nullptr;  // null: no value set
};

// Points the thread's view at `impl`'s table (null: the empty root).
[[gnu::always_inline]] inline void view(thread_state& state, const context_impl* impl) noexcept {
  slot_table* table = impl != nullptr ? impl->table : nullptr;
  state.entries = table != nullptr ? table->entries() : empty_entries;
  state.mask = table != nullptr ? byte_mask(table->capacity) : 0;
}

// Stores `node` (may be null: unset) for the local `id` in the current
// context, cloning a shared table first. Returns the previous node (owned
// by the caller).
value_node* exchange_current(local_key id, value_node* node);

// The node of local `id` in `impl`'s table, or null.
inline value_node* find_in(const context_impl* impl, local_key id) noexcept {
  slot_table* table = impl->table;
  return table != nullptr ? lookup(table->entries(), byte_mask(table->capacity), id) : nullptr;
}

context_impl* current_impl();                       // creates this thread's root context if needed
context_impl* new_impl();                           // a fresh, empty context; one reference
context_impl* copy_impl(const context_impl* impl);  // O(1); one reference
// A copy for a child task: as copy_impl, without the values of
// not-inherited locals (O(1) while the table holds none; else one filtered
// table). One reference.
context_impl* child_impl(const context_impl* impl);
// A fresh context whose only value is `node` for the local `id`, made
// without entering it; one reference. Takes `node` over (released if this
// throws).
context_impl* new_impl_holding(local_key id, value_node* node);
// A copy of `source` in which `node` is the value of the local `id`, made
// without entering either: one table built for both; one reference. Takes
// `node` over (released if this throws).
context_impl* copy_impl_holding(const context_impl* source, local_key id, value_node* node);
void destroy(context_impl* impl) noexcept;          // frees it; the last reference is gone

[[gnu::always_inline]] inline void acquire(context_impl* impl) noexcept {
  impl->references.fetch_add(1, std::memory_order_relaxed);
}
// As value_node::release: a sole owner skips the atomic subtraction.
[[gnu::always_inline]] inline void release(context_impl* impl) noexcept {
  if (impl->references.load(std::memory_order_acquire) == 1 ||
      impl->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    destroy(impl);
  }
}

// Make `impl` current on this thread, setting `previous` to the context
// that was current. Returns false, changing nothing, if another thread has
// `impl` entered.
[[gnu::always_inline]] inline bool try_enter(context_impl* impl, context_impl*& previous) noexcept {
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
[[noreturn]] void throw_entered_elsewhere();
inline context_impl* enter(context_impl* impl) {
  context_impl* previous = nullptr;
  if (!try_enter(impl, previous)) [[unlikely]]
    throw_entered_elsewhere();
  return previous;
}

// Gives up one entry of `impl` by this thread (the owner is released with
// the last one) without changing what is current.
[[gnu::always_inline]] inline void release_entry(context_impl* impl) noexcept {
  if (--impl->depth == 0) impl->owner.store(nullptr, std::memory_order_release);
}

// Undo the matching enter(): `previous` becomes current again.
[[gnu::always_inline]] inline void leave(context_impl* impl, context_impl* previous) noexcept {
  release_entry(impl);
  thread_state& state = this_thread;
  state.current = previous;
  view(state, previous);
}

// Called when the code run by an executor adapter returns with a `scope`
// still open above `mark` (a guard held across co_await): closes those
// scopes' entries, marks them abandoned so that their destructors do
// nothing, and makes `mark` the innermost scope again. The caller then
// restores its own context and reports the misuse (scope_left_open).
void abandon_scopes(scope* mark) noexcept;
[[noreturn]] void throw_scope_left_open();

// Called when a `scope` at `guard` opens in the thread's root context:
// throws context_error if the thread runs an Asio handler (the installed
// probe says so) on its own stack and `guard` is not on that stack (a
// coroutine's frame, the heap): such a guard, held across a suspension,
// would stay current for whatever the thread runs next, and no adapter of
// ours would see it. (On a stack of another kind, a stackful coroutine's,
// nothing can be told, and nothing is thrown.)
void check_scope_placement(const void* guard);

// Called by `local<T>::set` when the current context is the thread's root:
// throws context_error if the thread is running an event loop's handler
// (see allow_root_writes) and root writes have not been allowed.
void check_root_write(const char* local_name);

// Installed by an event-loop integration (aiolocals/asio.hpp): true while
// the calling thread runs that loop's handlers.
using handler_probe = bool (*)() noexcept;
void install_handler_probe(handler_probe probe) noexcept;

}  // namespace aiolocals::detail
