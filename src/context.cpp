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
}  // namespace

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

namespace {

// Makes `impl`'s cached view of its table, and the thread's if current,
// match the table.
void sync_view(context_impl* impl) noexcept {
  slot_table* table = impl->table;
  impl->values = table != nullptr ? table->slots() : nullptr;
  impl->size = table != nullptr ? table->size : 0;
  if (this_thread.current == impl) {
    this_thread.values = impl->values;
    this_thread.size = impl->size;
  }
}

// Owns this thread's root context; gives it up when the thread exits.
struct root_holder {
  context_impl* root = nullptr;
  ~root_holder() {
    if (root == nullptr) return;
    root->depth = 0;
    root->owner.store(nullptr, std::memory_order_release);
    if (this_thread.current == root) this_thread = thread_state{};
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
    copy->values = impl->values;
    copy->size = impl->size;
  }
  return copy;
}

void destroy(context_impl* impl) noexcept {
  if (impl->table != nullptr) impl->table->release();
  delete impl;
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
  sync_view(impl);
  return previous;
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

}  // namespace aiolocals::detail
