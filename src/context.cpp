// The compiled half of the core: tables, contexts, entering and leaving.
#include "aiolocals/context.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

namespace aiolocals::detail {

constinit thread_local thread_state this_thread{};

namespace {

constinit std::atomic<std::uint32_t> registered_locals{0};

// A context's values: a reference count, then `size` slots. Shared between
// copies and never written while shared; written in place while unshared.
struct alignas(value_node*) slot_table {
  std::atomic<std::uint32_t> references{1};
  std::uint32_t size;
  value_node** slots() noexcept { return reinterpret_cast<value_node**>(this + 1); }

  static slot_table* allocate(std::uint32_t size) {
    void* memory = ::operator new(sizeof(slot_table) + size * sizeof(value_node*));
    auto* table = new (memory) slot_table;
    table->size = size;
    std::fill_n(table->slots(), size, nullptr);
    return table;
  }
  // Frees the table without touching the nodes (their references moved on).
  static void deallocate(slot_table* table) noexcept {
    table->~slot_table();
    ::operator delete(table);
  }
  void release() noexcept {
    if (references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    for (std::uint32_t i = 0; i < size; ++i) {
      if (slots()[i] != nullptr) slots()[i]->release();
    }
    deallocate(this);
  }
};
static_assert(alignof(slot_table) >= alignof(value_node*));

}  // namespace

struct context_impl {
  std::atomic<std::uint32_t> references{1};
  // The thread that has this context entered, or null. Written by that
  // thread only (compare-exchange on entry), so `depth` needs no atomics.
  std::atomic<const thread_state*> owner{nullptr};
  std::uint32_t depth = 0;
  slot_table* table = nullptr;  // null: no value set

  ~context_impl() {
    if (table != nullptr) table->release();
  }
};

namespace {

void mirror(const context_impl* impl) noexcept {
  const slot_table* table = impl != nullptr ? impl->table : nullptr;
  this_thread.values = table != nullptr ? const_cast<slot_table*>(table)->slots() : nullptr;
  this_thread.size = table != nullptr ? table->size : 0;
}

// Owns this thread's root context; gives it up when the thread exits.
struct root_holder {
  context_impl* root = nullptr;
  ~root_holder() {
    if (root == nullptr) return;
    root->depth = 0;
    root->owner.store(nullptr, std::memory_order_release);
    if (this_thread.current == root) {
      this_thread.current = nullptr;
      mirror(nullptr);
    }
    release(root);
  }
};
thread_local root_holder this_thread_root;

}  // namespace

std::uint32_t allocate_index() noexcept {
  return registered_locals.fetch_add(1, std::memory_order_relaxed);
}

context_impl* new_impl() { return new context_impl; }

context_impl* copy_impl(const context_impl* impl) {
  auto* copy = new context_impl;
  if (impl->table != nullptr) {
    impl->table->references.fetch_add(1, std::memory_order_relaxed);
    copy->table = impl->table;
  }
  return copy;
}

void acquire(context_impl* impl) noexcept {
  impl->references.fetch_add(1, std::memory_order_relaxed);
}

void release(context_impl* impl) noexcept {
  if (impl->references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete impl;
}

context_impl* current_impl() {
  if (this_thread.current == nullptr) {
    auto* root = new context_impl;
    root->owner.store(&this_thread, std::memory_order_relaxed);
    root->depth = 1;
    this_thread_root.root = root;
    this_thread.current = root;
  }
  return this_thread.current;
}

value_node* find_in(const context_impl* impl, std::uint32_t index) noexcept {
  const slot_table* table = impl->table;
  if (table == nullptr || index >= table->size) return nullptr;
  return const_cast<slot_table*>(table)->slots()[index];
}

value_node* exchange_current(std::uint32_t index, value_node* node) {
  context_impl* impl = current_impl();
  slot_table* table = impl->table;
  const bool shared = table != nullptr && table->references.load(std::memory_order_acquire) != 1;
  if (table == nullptr || shared || index >= table->size) {
    // Size for every local registered so far, so that setting the others
    // later does not grow the table again.
    const std::uint32_t size =
        std::max({index + 1, registered_locals.load(std::memory_order_relaxed),
                  table != nullptr ? table->size : 0u});
    slot_table* grown = slot_table::allocate(size);
    if (table != nullptr) {
      std::copy_n(table->slots(), table->size, grown->slots());
      if (shared) {
        for (std::uint32_t i = 0; i < table->size; ++i) {
          if (grown->slots()[i] != nullptr) grown->slots()[i]->acquire();
        }
        table->release();
      } else {
        slot_table::deallocate(table);  // the nodes moved to `grown`
      }
    }
    impl->table = table = grown;
  }
  value_node* previous = std::exchange(table->slots()[index], node);
  mirror(impl);
  return previous;
}

bool try_enter(context_impl* impl, context_impl*& previous) noexcept {
  const thread_state* self = &this_thread;
  if (impl->owner.load(std::memory_order_relaxed) != self) {
    const thread_state* expected = nullptr;
    if (!impl->owner.compare_exchange_strong(expected, self, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
      return false;
    }
  }
  ++impl->depth;
  previous = this_thread.current;
  this_thread.current = impl;
  mirror(impl);
  return true;
}

context_impl* enter(context_impl* impl) {
  context_impl* previous = nullptr;
  if (!try_enter(impl, previous)) {
    throw context_error(
        "aiolocals: cannot enter a context that another thread has entered "
        "(give each task its own copy())");
  }
  return previous;
}

void leave(context_impl* impl, context_impl* previous) noexcept {
  if (--impl->depth == 0) impl->owner.store(nullptr, std::memory_order_release);
  this_thread.current = previous;
  mirror(previous);
}

}  // namespace aiolocals::detail
