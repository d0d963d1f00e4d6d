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

slot_table* allocate_table(std::uint32_t size) {
  void* memory = ::operator new(sizeof(slot_table) + size * sizeof(value_node*));
  auto* table = new (memory) slot_table;
  table->size = size;
  std::fill_n(table->slots(), size, nullptr);
  return table;
}

// Frees the table without touching the nodes (their references moved on).
void deallocate_table(slot_table* table) noexcept {
  table->~slot_table();
  ::operator delete(table);
}

// Drops one reference; the last one releases the nodes and frees the table.
void release_table(slot_table* table) noexcept {
  if (table->references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  for (std::uint32_t i = 0; i < table->size; ++i) {
    if (table->slots()[i] != nullptr) table->slots()[i]->release();
  }
  deallocate_table(table);
}

static_assert(alignof(slot_table) >= alignof(value_node*));

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
  }
  return copy;
}

void destroy(context_impl* impl) noexcept {
  if (impl->table != nullptr) release_table(impl->table);
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
    slot_table* grown = allocate_table(size);
    if (table != nullptr) {
      std::copy_n(table->slots(), table->size, grown->slots());
      if (shared) {
        for (std::uint32_t i = 0; i < table->size; ++i) {
          if (grown->slots()[i] != nullptr) grown->slots()[i]->acquire();
        }
        release_table(table);
      } else {
        deallocate_table(table);  // the nodes moved to `grown`
      }
    }
    impl->table = table = grown;
  }
  value_node* previous = std::exchange(table->slots()[index], node);
  view(this_thread, impl);  // `impl` is this thread's current context
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
