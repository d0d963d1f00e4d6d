// SPDX-License-Identifier: BSL-1.0
// The compiled half of the core: tables, contexts, entering and leaving, and
// the misuse checks.
#include "aiolocals/context.hpp"

#include "aiolocals/detail/hex.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <type_traits>

namespace aiolocals::detail {

constinit thread_local thread_state this_thread [[gnu::tls_model("initial-exec")]]{};

namespace {

constinit std::atomic<std::uint64_t> next_key{1};
constinit std::atomic<bool> root_writes_allowed{false};
constinit std::atomic<handler_probe> installed_probe{nullptr};

// Consecutive keys start their probes far apart.
local_key key_of(std::uint64_t key) noexcept { return {key, mix64(key) * sizeof(slot_entry)}; }

// Tables of up to 8 entries (a request's few locals) keep one spare block
// per size on each thread, as value nodes do: a span block or a context
// that sets a value builds and frees one table each time, and the
// allocator's round trip was a fifth of a span block's cost.
template <class F>
decltype(auto) with_table_memory(std::uint32_t capacity, F f) {
  switch (capacity) {
    case 2: return f(node_memory<sizeof(slot_table) + 2 * sizeof(slot_entry)>{});
    case 4: return f(node_memory<sizeof(slot_table) + 4 * sizeof(slot_entry)>{});
    case 8: return f(node_memory<sizeof(slot_table) + 8 * sizeof(slot_entry)>{});
    default: return f(nullptr);
  }
}

void* table_memory(std::uint32_t capacity) {
  return with_table_memory(capacity, [capacity](auto memory) -> void* {
    if constexpr (std::is_same_v<decltype(memory), std::nullptr_t>) {
      return ::operator new(sizeof(slot_table) + capacity * sizeof(slot_entry));
    } else {
      return decltype(memory)::take();
    }
  });
}

slot_table* allocate_table(std::uint32_t capacity) {
  void* memory = table_memory(capacity);
  auto* table = new (memory) slot_table;
  table->capacity = capacity;
  std::fill_n(table->entries(), capacity, slot_entry{0, nullptr});
  return table;
}

// Frees the table without touching the nodes (their references moved on).
void deallocate_table(slot_table* table) noexcept {
  const std::uint32_t capacity = table->capacity;
  table->~slot_table();
  with_table_memory(capacity, [table](auto memory) noexcept {
    if constexpr (std::is_same_v<decltype(memory), std::nullptr_t>) {
      ::operator delete(table);
    } else {
      decltype(memory)::give_back(table);
    }
  });
}

// Drops one reference; the last one releases the nodes and frees the table.
// A sole owner skips the atomic subtraction (no one else can take another
// reference to it).
void release_table(slot_table* table) noexcept {
  if (table->references.load(std::memory_order_acquire) != 1 &&
      table->references.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;
  }
  for (std::uint32_t i = 0; i < table->capacity; ++i) {
    if (value_node* node = table->entries()[i].node) node->release();
  }
  deallocate_table(table);
}

static_assert(alignof(slot_table) >= alignof(slot_entry));

// The entry for `id` in `table`: its own, or the empty one where it would go.
slot_entry& probe(slot_table* table, local_key id) noexcept {
  const std::uint64_t mask = table->capacity - 1;
  for (std::uint64_t i = id.offset / sizeof(slot_entry);; ++i) {
    slot_entry& entry = table->entries()[i & mask];
    if (entry.key == id.key || entry.key == 0) return entry;
  }
}

// Fills `entry`, the empty slot `probe` found for `key`, and counts it.
void occupy(slot_table* table, slot_entry& entry, std::uint64_t key, value_node* node) noexcept {
  entry = {key, node};
  ++table->used;
  table->not_inherited += (key & not_inherited_key_bit) != 0;
}

// A new table holding the values of `old` (which may be null; left as it
// is), no entry for unset locals, and room for one more; with `acquire`,
// each node gains a reference. With `children_only`, the values of
// not-inherited locals are left out.
slot_table* copy_table(slot_table* old, bool acquire = true, bool children_only = false) {
  const auto kept = [children_only](const slot_entry& entry) {
    return entry.node != nullptr && !(children_only && (entry.key & not_inherited_key_bit) != 0);
  };
  std::uint32_t values = 1;
  if (old != nullptr) {
    for (std::uint32_t i = 0; i < old->capacity; ++i) values += kept(old->entries()[i]);
  }
  slot_table* table = allocate_table(std::bit_ceil(std::max(values * 2, 2u)));
  if (old == nullptr) return table;
  for (std::uint32_t i = 0; i < old->capacity; ++i) {
    const slot_entry& entry = old->entries()[i];
    if (!kept(entry)) continue;
    occupy(table, probe(table, key_of(entry.key)), entry.key, entry.node);
    if (acquire) entry.node->acquire();
  }
  return table;
}

slot_table* rebuild(slot_table* old, bool shared) {
  slot_table* table = copy_table(old, shared);
  if (old == nullptr) return table;
  if (shared) {
    release_table(old);
  } else {
    deallocate_table(old);
  }
  return table;
}

// Owns this thread's root context; gives it up when the thread exits.
struct root_holder {
  ~root_holder() {
    context_impl* root = this_thread.root;
    if (root == nullptr) return;
    root->depth = 0;
    root->owner.store(nullptr, std::memory_order_release);
    this_thread = thread_state{};
    release(root);
  }
};
thread_local root_holder this_thread_root;

}  // namespace

local_key allocate_key(bool inherited) noexcept {
  const std::uint64_t key = next_key.fetch_add(1, std::memory_order_relaxed);
  return key_of(inherited ? key : key | not_inherited_key_bit);
}

namespace {
// Contexts keep a spare block per thread too: a copy run and dropped (a
// span block, a spawned task) then allocates nothing.
using impl_memory = node_memory<sizeof(context_impl)>;
static_assert(alignof(context_impl) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
context_impl* make_impl() {
  void* memory = impl_memory::take();
  return ::new (memory) context_impl;  // noexcept
}
void free_impl(context_impl* impl) noexcept {
  if (impl == nullptr) return;
  impl->~context_impl();
  impl_memory::give_back(impl);
}
}  // namespace

context_impl* new_impl() { return make_impl(); }

context_impl* copy_impl(const context_impl* impl) {
  auto* copy = make_impl();
  if (impl->table != nullptr) {
    impl->table->references.fetch_add(1, std::memory_order_relaxed);
    copy->table = impl->table;
  }
  return copy;
}

context_impl* child_impl(const context_impl* impl) {
  if (impl->table == nullptr || impl->table->not_inherited == 0) return copy_impl(impl);
  auto* copy = make_impl();
  try {
    copy->table = copy_table(impl->table, true, true);
  } catch (...) {
    free_impl(copy);
    throw;
  }
  return copy;
}

context_impl* new_impl_holding(local_key id, value_node* node) {
  context_impl* impl = nullptr;
  try {
    impl = make_impl();
    impl->table = allocate_table(2);
  } catch (...) {
    free_impl(impl);
    node->release();
    throw;
  }
  occupy(impl->table, probe(impl->table, id), id.key, node);
  return impl;
}

context_impl* copy_impl_holding(const context_impl* source, local_key id, value_node* node) {
  context_impl* impl = nullptr;
  try {
    impl = make_impl();
    impl->table = copy_table(source->table);
  } catch (...) {
    free_impl(impl);
    node->release();
    throw;
  }
  slot_entry& entry = probe(impl->table, id);
  if (entry.key == id.key) {
    entry.node->release();
    entry.node = node;
  } else {
    occupy(impl->table, entry, id.key, node);
  }
  return impl;
}

void destroy(context_impl* impl) noexcept {
  if (impl->table != nullptr) release_table(impl->table);
  free_impl(impl);
}

context_impl* current_impl() {
  thread_state& state = this_thread;
  if (state.current == nullptr) {
    if (state.root == nullptr) {
      auto* root = make_impl();
      root->owner.store(&state, std::memory_order_relaxed);
      root->depth = 1;
      (void)this_thread_root;  // registers the thread-exit cleanup
      state.root = root;
    }
    state.current = state.root;
  }
  return state.current;
}

value_node* exchange_current(local_key id, value_node* node) {
  context_impl* impl = current_impl();
  slot_table* table = impl->table;
  if (table == nullptr && node == nullptr) return nullptr;  // unsetting in an empty context
  const bool shared = table != nullptr && table->references.load(std::memory_order_acquire) != 1;
  if (!shared && table != nullptr) {
    slot_entry& entry = probe(table, id);
    if (entry.key == id.key) {
      value_node* previous = std::exchange(entry.node, node);
      view(this_thread, impl);
      return previous;
    }
    if (node == nullptr) return nullptr;  // not set here: nothing to unset
    if ((table->used + 1) * 2 <= table->capacity) {
      occupy(table, entry, id.key, node);
      view(this_thread, impl);
      return nullptr;
    }
  }
  if (shared && find_in(impl, id) == nullptr && node == nullptr) return nullptr;
  slot_table* grown = rebuild(table, shared);
  impl->table = grown;
  slot_entry& entry = probe(grown, id);
  value_node* previous = nullptr;
  if (entry.key == id.key) {
    previous = std::exchange(entry.node, node);
  } else if (node != nullptr) {
    occupy(grown, entry, id.key, node);
  }
  view(this_thread, impl);  // `impl` is this thread's current context
  return previous;
}

void throw_entered_elsewhere() {
  throw context_error(
      "aiolocals: cannot enter a context that another thread has entered "
      "(give each task its own copy())");
}

value_node* lookup_further(const slot_entry* entries, std::uint64_t mask, local_key id) noexcept {
  const std::uint64_t slots = mask / sizeof(slot_entry);
  for (std::uint64_t i = id.offset / sizeof(slot_entry) + 1;; ++i) {
    const slot_entry& entry = entries[i & slots];
    if (entry.key == id.key) return entry.node;
    if (entry.key == 0) return nullptr;
  }
}

void install_handler_probe(handler_probe probe) noexcept {
  installed_probe.store(probe, std::memory_order_release);
}

void check_root_write(const char* local_name) {
  if (root_writes_allowed.load(std::memory_order_relaxed)) return;
  const handler_probe probe = installed_probe.load(std::memory_order_acquire);
  if (probe == nullptr || !probe()) return;
  std::string message =
      std::string("aiolocals: local '") + local_name +
      "' set in this thread's root context while the thread runs an Asio handler; every handler "
      "on this thread shares that context, so other tasks would see the value. Start the task in "
      "its own context: aiolocals::co_spawn instead of asio::co_spawn, aiolocals::bind(handler) "
      "for a plain handler, or aiolocals::track_requests for requests. For per-thread state on "
      "purpose, call aiolocals::allow_root_writes() once";
  // Also said once on stderr: a coroutine spawned with asio::detached drops
  // its exceptions, and this one must not go unseen.
  static std::atomic<bool> said{false};
  if (!said.exchange(true, std::memory_order_relaxed))
    std::fprintf(stderr, "%s\n", message.c_str());
  throw context_error(message);
}

namespace {

// The calling thread's stack, [low, high), found once per thread.
struct stack_bounds {
  std::uintptr_t low = 0, high = 0;
  bool known = false;
};
constinit thread_local stack_bounds this_thread_stack [[gnu::tls_model("initial-exec")]]{};

const stack_bounds& thread_stack() noexcept {
  stack_bounds& bounds = this_thread_stack;
  if (!bounds.known) {
    bounds.known = true;
#if defined(__GLIBC__)
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
      void* address = nullptr;
      std::size_t size = 0;
      if (pthread_attr_getstack(&attributes, &address, &size) == 0) {
        bounds.low = reinterpret_cast<std::uintptr_t>(address);
        bounds.high = bounds.low + size;
      }
      pthread_attr_destroy(&attributes);
    }
#endif
  }
  return bounds;
}

bool on(const stack_bounds& stack, const void* address) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  return stack.low <= at && at < stack.high;
}

}  // namespace

void check_scope_placement(const void* guard) {
  const stack_bounds& stack = thread_stack();
  if (stack.low == stack.high || on(stack, guard)) return;  // unknown, or on the stack
  const char here = 0;
  if (!on(stack, &here)) return;  // running on another stack (a stackful coroutine)
  const handler_probe probe = installed_probe.load(std::memory_order_acquire);
  if (probe == nullptr || !probe()) return;  // not inside an Asio handler
  const char* message =
      "aiolocals: an aiolocals::scope (or request_scope) opened in a coroutine's frame (or off "
      "the thread's stack) while the thread runs an Asio handler on an executor that enters no "
      "context (a plain asio::co_spawn): were the coroutine to suspend with it open, its "
      "context would stay current for whatever the thread runs next, unseen. Start the "
      "coroutine with aiolocals::co_spawn (or track_requests, co_run), where a "
      "scope held across co_await is caught; in a coroutine, use ctx.run(f) for a synchronous "
      "block and co_await aiolocals::co_run(ctx, body()) for awaits";
  // Also said once on stderr: a coroutine spawned with asio::detached drops
  // its exceptions, and this one must not go unseen.
  static std::atomic<bool> said{false};
  if (!said.exchange(true, std::memory_order_relaxed)) std::fprintf(stderr, "%s\n", message);
  throw context_error(message);
}

void abandon_scopes(scope* mark) noexcept {
  thread_state& state = this_thread;
  for (scope* open = state.innermost; open != mark && open != nullptr; open = open->outer_) {
    open->abandoned_ = true;
    release_entry(open->entered_);
  }
  state.innermost = mark;
}

void throw_scope_left_open() {
  throw context_error(
      "aiolocals: a coroutine suspended with an aiolocals::scope open (a scope or "
      "request_scope held across co_await). A scope is for synchronous code: it would "
      "leave its context current for whatever this thread runs next. Use "
      "co_await aiolocals::co_run(ctx, body()) to run awaits in a fresh or given context");
}

}  // namespace aiolocals::detail

namespace aiolocals {

void allow_root_writes(bool allow) noexcept {
  detail::root_writes_allowed.store(allow, std::memory_order_relaxed);
}

void scope::misused() const noexcept {
  std::fputs(
      "aiolocals: an aiolocals::scope was destroyed out of order or on another thread than the "
      "one that opened it (typically a scope held across co_await in a coroutine). A scope is "
      "for synchronous code; in a coroutine use co_await aiolocals::co_run(ctx, body()). "
      "Terminating: the thread's context bookkeeping can no longer be trusted.\n",
      stderr);
  std::terminate();
}

}  // namespace aiolocals
