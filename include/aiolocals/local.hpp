// SPDX-License-Identifier: BSL-1.0
// aiolocals/local.hpp - a typed task-local variable (Python's ContextVar).
//
// Declare one per piece of state, usually at namespace scope:
//
//   inline aiolocals::local<std::string> user{"user"};
//   inline aiolocals::local<int> retries{"retries", 3};   // with a default
//
//   user.set("bob");                 // returns a token; reset(token) undoes
//   auto guard = user.scoped("eve"); // set now, undone at end of block
//   const std::string& who = user.get();  // throws lookup_error if unset
//   const std::string* maybe = user.find();  // null if unset
//
//   // Kept by its own task, never given to the tasks it spawns:
//   inline aiolocals::local<db::transaction*> txn{"txn", aiolocals::not_inherited};
//
// The value is stored in the calling thread's *current* `aiolocals::context`
// (see context.hpp), so each task sees its own, and a copy of the context
// (what `bind` and `aiolocals::co_spawn` take) starts with the same values.
//
// Cost: `get`/`find` read the thread's table pointer, one entry (the
// local's key and value pointer, one cache line) and the value: three
// dependent loads, no allocation, no atomic. `set` needs one
// node for the value: the memory the last freed node of that size left on
// this thread, else one allocation (so re-setting a local whose old value is
// released allocates nothing); on a context whose table is shared with a
// copy, the first write clones the table once. Values are immutable once set: a `const T&` from
// `get` stays valid until this local is next set or reset in that context.
//
// Thread-safety: a `local` object itself is immutable after construction and
// may be used from every thread at once; each call acts on the calling
// thread's current context only. T is read from several threads at once when
// copies of a context are, so T's const member functions must be thread-safe
// (as for every standard type).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "aiolocals/context.hpp"

namespace aiolocals {

/// Thrown by `local<T>::get()` when the local has no value and no default.
/// `what()` names the local.
class lookup_error : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

/// Declares a local whose values stay in the task that set them: a task it
/// spawns (`aiolocals::co_spawn`, `bind(f)`, the awaitable operators'
/// branches: whatever takes `context::child()`) starts without them. For a
/// value that must not reach a background task: a database transaction, a
/// per-request budget (userver's TaskLocalVariable against its
/// TaskInheritedVariable). Everything else keeps them: `copy()`, a span
/// block, `scope`/`run`, and the async logger's snapshot (a line logged
/// inside the task prints them).
///   inline aiolocals::local<transaction*> txn{"txn", aiolocals::not_inherited};
struct not_inherited_t {
  explicit not_inherited_t() = default;
};
inline constexpr not_inherited_t not_inherited{};

/// A task-local variable of type T (see the file comment).
/// Not copyable or movable: its identity is the variable.
template <class T>
class local {
 public:
  /// What `set` returns: enough to undo that write with `reset`. Move-only;
  /// dropping it without `reset` keeps the new value (as in Python).
  class token {
   public:
    token(token&& other) noexcept
        : owner_(other.owner_),
          context_(std::move(other.context_)),
          previous_(std::exchange(other.previous_, nullptr)),
          used_(std::exchange(other.used_, true)) {}
    token& operator=(token&&) = delete;
    ~token() {
      if (previous_ != nullptr) previous_->release();
    }
    /// The value the local had before the `set`, or null if it had none.
    const T* old_value() const noexcept {
      return previous_ ? &static_cast<detail::typed_node<T>*>(previous_)->value : nullptr;
    }

   private:
    friend class local;
    token(const local* owner, context ctx, detail::value_node* previous)
        : owner_(owner), context_(std::move(ctx)), previous_(previous) {}
    const local* owner_;
    context context_;
    detail::value_node* previous_;  // owned; null: the local was unset
    bool used_ = false;
  };

  /// RAII form of set/reset, returned by `scoped`. Not copyable or movable.
  class scoped_value {
   public:
    /// Resets the local. If the guard dies outside the context it was made
    /// in (a coroutine frame destroyed by a stopped io_context, say), the
    /// value is left to that context instead: a destructor never throws.
    ~scoped_value() {
      if (detail::context_access::impl(token_.context_) == detail::this_thread.current) {
        owner_.reset(std::move(token_));
      }
    }
    scoped_value(const scoped_value&) = delete;
    scoped_value& operator=(const scoped_value&) = delete;

   private:
    friend class local;
    scoped_value(const local& owner, token&& t) : owner_(owner), token_(std::move(t)) {}
    const local& owner_;
    token token_;
  };

  /// A local with no default: `get` throws until it is set. `name` appears in
  /// error messages. Takes a key that is never reused, so locals may be
  /// created and destroyed at run time (say, one per object): a context's
  /// memory and the cost of copy and set follow the locals *set* in it, not
  /// the number ever created. A destroyed local's values stay in the
  /// contexts that hold them until those contexts die.
  explicit local(std::string name) : name_(std::move(name)), id_(detail::allocate_key()) {}
  /// A local whose `get` returns `default_value` until it is set.
  local(std::string name, T default_value)
      : name_(std::move(name)), default_(std::move(default_value)), id_(detail::allocate_key()) {}
  /// A local that spawned tasks do not inherit (see not_inherited_t).
  local(std::string name, not_inherited_t)
      : name_(std::move(name)), id_(detail::allocate_key(false)) {}
  /// The same, with a default (which children still see: only values set
  /// stay behind).
  local(std::string name, T default_value, not_inherited_t)
      : name_(std::move(name)), default_(std::move(default_value)), id_(detail::allocate_key(false)) {}

  local(const local&) = delete;
  local& operator=(const local&) = delete;

  /// The value in the current context, else the default. Throws lookup_error
  /// naming the local when there is neither. Three dependent loads.
  const T& get() const {
    const detail::thread_state& state = detail::this_thread;
    if (detail::value_node* node = detail::lookup(state.entries, state.mask, id_)) [[likely]] {
      return static_cast<detail::typed_node<T>*>(node)->value;
    }
    return get_default();
  }

  /// The value in the current context, else the default, else null. noexcept.
  const T* find() const noexcept {
    const detail::thread_state& state = detail::this_thread;
    if (detail::value_node* node = detail::lookup(state.entries, state.mask, id_)) {
      return &static_cast<detail::typed_node<T>*>(node)->value;
    }
    return default_ ? &*default_ : nullptr;
  }

  /// True if the current context holds a value for this local (a default
  /// does not count).
  bool is_set() const noexcept {
    const detail::thread_state& state = detail::this_thread;
    return detail::lookup(state.entries, state.mask, id_) != nullptr;
  }

  /// Stores `value` in the current context; returns a token for `reset`.
  /// A value node (recycled memory when this thread freed one of the same
  /// size, else one allocation), plus a table clone if the context's table
  /// is shared with a copy. Strong exception guarantee. Throws context_error
  /// if the current context is the thread's root and the thread is running
  /// an Asio handler (a task spawned without a context of its own; see
  /// `allow_root_writes` in context.hpp).
  token set(T value) const { return emplace(std::move(value)); }

  /// As `set`, constructing the value in place from `args`.
  template <class... Args>
  token emplace(Args&&... args) const {
    const detail::thread_state& state = detail::this_thread;
    if (state.current == state.root) [[unlikely]]
      detail::check_root_write(name_.c_str());
    auto* node = detail::typed_node<T>::make(std::forward<Args>(args)...);
    context ctx = context::current();
    detail::value_node* previous;
    try {
      previous = detail::exchange_current(id_, node);
    } catch (...) {
      node->release();
      throw;
    }
    return token(this, std::move(ctx), previous);
  }

  /// Restores the value this local had before the `set` that made `t`.
  /// Throws std::invalid_argument if `t` belongs to another local or was made
  /// in another context than the current one, std::logic_error if `t` was
  /// already used (Python's ValueError and RuntimeError).
  void reset(token&& t) const {
    if (t.used_) throw std::logic_error("aiolocals: token already used");
    if (t.owner_ != this) {
      throw std::invalid_argument("aiolocals: token of local '" + t.owner_->name_ +
                                  "' passed to local '" + name_ + "'");
    }
    if (!(t.context_ == context::current())) {
      throw std::invalid_argument("aiolocals: token of local '" + name_ +
                                  "' was created in another context");
    }
    detail::value_node* replaced = detail::exchange_current(id_, t.previous_);
    t.previous_ = nullptr;  // ownership moved into the context
    t.used_ = true;
    if (replaced != nullptr) replaced->release();
  }

  /// Sets `value` now and resets it when the returned guard is destroyed.
  [[nodiscard]] scoped_value scoped(T value) const {
    return scoped_value(*this, set(std::move(value)));
  }

  /// The name given at construction.
  const std::string& name() const noexcept { return name_; }
  /// False for a local declared `not_inherited`.
  bool inherited() const noexcept { return (id_.key & detail::not_inherited_key_bit) == 0; }

 private:
  friend class context;
  friend struct detail::context_access;
  const T& get_default() const {
    if (default_) return *default_;
    throw lookup_error("aiolocals: local '" + name_ + "' has no value in the current context");
  }

  std::string name_;
  std::optional<T> default_;
  detail::local_key id_;  // never reused, so a dead local's values are never misread
};

template <class T, class... Args>
context detail::context_access::holding(const local<T>& var, Args&&... args) {
  auto* node = detail::typed_node<T>::make(std::forward<Args>(args)...);
  return context(detail::new_impl_holding(var.id_, node));
}

template <class T, class... Args>
context detail::context_access::copy_of_current_holding(const local<T>& var, Args&&... args) {
  auto* node = detail::typed_node<T>::make(std::forward<Args>(args)...);
  return context(detail::copy_impl_holding(detail::current_impl(), var.id_, node));
}

template <class T>
const T* context::find(const local<T>& var) const noexcept {
  detail::value_node* node = detail::find_in(impl_, var.id_);
  return node ? &static_cast<detail::typed_node<T>*>(node)->value : nullptr;
}

}  // namespace aiolocals
