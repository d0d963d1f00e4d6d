// SPDX-License-Identifier: BSL-1.0
// Boost.Log attributes that read the task making a record: each value
// holds a snapshot of that task's context and builds its text when a
// formatter asks.
#include "aiolocals/boost_log.hpp"

#include <boost/log/attributes/attribute.hpp>
#include <boost/log/attributes/attribute_value.hpp>
#include <boost/log/utility/type_dispatch/type_dispatcher.hpp>
#include <boost/type_index.hpp>
#include <atomic>
#include <ostream>
#include <string_view>
#include <thread>

#include "aiolocals/context.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"

namespace aiolocals {
namespace {

namespace logging = boost::log;

// What each attribute reads from the record's snapshot. Read without
// entering it: two sinks may format one record on two threads at once.
enum class field { request_id, method, path, trace_id, span_id };

std::string text_of(field which, const context& snapshot) {
  if (which == field::trace_id || which == field::span_id) {
    const span_context current = current_span(snapshot);
    if (!current.is_valid()) return "-";
    return which == field::trace_id ? current.trace.to_hex() : current.span.to_hex();
  }
  const request_info* info = snapshot.find(request);
  if (info == nullptr) return "-";
  const std::string& raw =
      which == field::request_id ? info->id : which == field::method ? info->method : info->path;
  if (raw.empty()) return "-";
  if (which == field::request_id) return raw;  // ids are checked where they are made
  std::string escaped;
  append_escaped(escaped, raw);
  return escaped;
}

// A record's value: the snapshot taken when the record was made, and its
// text, built by whichever sink asks first. (Boost.Log's value_ref keeps a
// reference to what is dispatched, so the text must live in the value.)
class text_value final : public logging::attribute_value::impl {
 public:
  text_value(field which, context snapshot) : which_(which), snapshot_(std::move(snapshot)) {}
  bool dispatch(logging::type_dispatcher& dispatcher) override {
    auto callback = dispatcher.get_callback<std::string>();
    if (!callback) return false;
    callback(text());
    return true;
  }
  boost::typeindex::type_index get_type() const override {
    return boost::typeindex::type_id<std::string>();
  }

 private:
  // 0: not built; 1: being built by one thread; 2: built. (std::call_once
  // went through pthread_once's slow path and a futex on every value: three
  // quarters of a record's cost.) Two sinks formatting one record at once
  // is rare: the second waits for the first.
  const std::string& text() {
    if (state_.load(std::memory_order_acquire) == 2) return text_;
    unsigned char expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
      try {
        text_ = text_of(which_, snapshot_);
      } catch (...) {
        state_.store(0, std::memory_order_release);
        throw;
      }
      state_.store(2, std::memory_order_release);
      return text_;
    }
    while (state_.load(std::memory_order_acquire) != 2) std::this_thread::yield();
    return text_;
  }
  field which_;
  context snapshot_;
  std::atomic<unsigned char> state_{0};
  std::string text_;
};

class fields_value final : public logging::attribute_value::impl {
 public:
  explicit fields_value(context snapshot) : snapshot_(std::move(snapshot)) {}
  bool dispatch(logging::type_dispatcher& dispatcher) override {
    auto callback = dispatcher.get_callback<log_fields>();
    if (!callback) return false;
    // The snapshot is never written, so the reference stays valid.
    callback(log_fields_of(snapshot_));
    return true;
  }
  boost::typeindex::type_index get_type() const override {
    return boost::typeindex::type_id<log_fields>();
  }

 private:
  context snapshot_;
};

constexpr std::size_t attribute_count = 6;  // the five fields, then LogFields

// Each thread keeps the values it made last, and the table they were made
// from: while the thread's current context still shows that table, the
// values are still right (the snapshot holds a reference to the table, so
// no write can change it in place: a write to a shared table clones it,
// which changes what the thread shows), and the next record reuses them,
// one reference count each, no allocation. Keeps one table alive per
// logging thread until that thread's next record or its exit.
// Trivially destructible and initial-exec, as the core's per-thread state:
// a plain %fs-relative access (a thread_local with a destructor in a shared
// library went through __tls_get_addr on every record). A closer,
// registered once per thread, drops the values at thread exit.
struct thread_values {
  const detail::slot_entry* shown;
  logging::attribute_value::impl* values[attribute_count];  // one reference each, or null
  bool closer_registered;

  void clear() noexcept {
    for (auto*& value : values) {
      if (value != nullptr) intrusive_ptr_release(value);
      value = nullptr;
    }
  }
};
constinit thread_local thread_values last_values [[gnu::tls_model("initial-exec")]]{};

void register_closer() {
  struct closer {
    ~closer() {
      last_values.clear();
      last_values.shown = nullptr;
    }
  };
  thread_local closer close_at_thread_exit;
  (void)close_at_thread_exit;
  last_values.closer_registered = true;
}

logging::attribute_value value_of(std::size_t index) {
  const detail::slot_entry* shown = detail::this_thread.entries;
  thread_values& cache = last_values;
  if (cache.shown != shown || cache.values[index] == nullptr) [[unlikely]] {
    if (!cache.closer_registered) register_closer();
    if (cache.shown != shown) {
      cache.clear();
      cache.shown = shown;
    }
    // The snapshot's table is the one the thread shows now.
    context snapshot = detail::context_access::copy_of_current();
    logging::attribute_value::impl* made =
        index < attribute_count - 1
            ? static_cast<logging::attribute_value::impl*>(
                  new text_value(static_cast<field>(index), std::move(snapshot)))
            : new fields_value(std::move(snapshot));
    intrusive_ptr_add_ref(made);
    cache.values[index] = made;
  }
  return logging::attribute_value(boost::intrusive_ptr<logging::attribute_value::impl>(cache.values[index]));
}

class task_attribute final : public logging::attribute::impl {
 public:
  explicit task_attribute(std::size_t index) : index_(index) {}
  logging::attribute_value get_value() override { return value_of(index_); }

 private:
  std::size_t index_;
};

}  // namespace

void configure_boost_log(boost_log_attributes which, const boost::log::core_ptr& core) {
  static constexpr const char* names[attribute_count] = {"RequestID", "Method", "Path",
                                                          "TraceID",   "SpanID", "LogFields"};
  for (std::size_t index = 0; index < attribute_count; ++index) {
    const bool wanted = (static_cast<unsigned>(which) & (1u << index)) != 0;
    const logging::attribute attribute(new task_attribute(index));
    // Boost.Log's one way to find a global attribute by name: try to add.
    auto [existing, added] = core->add_global_attribute(names[index], attribute);
    if (added && wanted) continue;
    core->remove_global_attribute(existing);  // unwanted, or another of that name
    if (wanted) core->add_global_attribute(names[index], attribute);
  }
}

std::ostream& operator<<(std::ostream& out, const log_fields& fields) {
  std::string text;
  append_log_fields_text(text, fields);
  return out << text;
}

}  // namespace aiolocals
