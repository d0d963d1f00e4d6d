// SPDX-License-Identifier: BSL-1.0
// aiolocals/log/fields.hpp - your own fields in every log line of a task:
// what an MDC holds (tenant, user, order id, feature flag), carried by the
// task's context instead of the thread. Framework-neutral: the core and the
// standard library; the spdlog flag %k and the JSON lines print them.
//
//   aiolocals::set_log_field("tenant", "acme");
//   aiolocals::set_log_field("order_id", 42);
//   co_await step();                      // still set after the resumption
//   spdlog::info("paid");                 // ... [/pay#<id>] tenant=acme order_id=42 paid
//   aiolocals::remove_log_field("tenant");
//
// The fields live in a local of the library's own, so they follow every
// rule locals follow: set in the current context (a request's, a job's, a
// task's), they cross co_await and thread hops with it, every task spawned
// later inherits a copy (aiolocals::co_spawn, bind, copy(), the awaitable
// operators' branches, span blocks), and a child's additions never show in
// its parent. Setting one outside any task, in an Asio handler thread's
// root context, throws context_error as for any local.
// Thread-safety: every function acts on the calling thread's current
// context only; a log_fields value, once stored, is immutable and may be
// read from any thread.
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/json.hpp"

namespace aiolocals {

class context;

/// A field's value: text, a whole number, a floating-point number or a
/// boolean. JSON lines keep the type (a number stays a number).
using log_field_value = std::variant<std::string, std::int64_t, double, bool>;

/// One named field.
struct log_field {
  std::string key;
  log_field_value value;
  friend bool operator==(const log_field&, const log_field&) = default;
};

/// The fields a context carries, in the order they were first set.
/// Immutable once stored; small (a handful of fields is the expected use:
/// lookups are linear).
class log_fields {
 public:
  log_fields() = default;
  /// The fields, in the order they were first set.
  std::span<const log_field> items() const noexcept { return fields_; }
  bool empty() const noexcept { return fields_.empty(); }
  std::size_t size() const noexcept { return fields_.size(); }
  /// The value of `key`, or null.
  const log_field_value* find(std::string_view key) const noexcept {
    for (const log_field& field : fields_)
      if (field.key == key) return &field.value;
    return nullptr;
  }

  /// The fields as append_log_fields_text writes them (` key=value` each),
  /// rendered once when this value was made.
  std::string_view text() const noexcept { return text_; }

  /// A copy with `key` set to `value` (overwritten in place if present).
  log_fields with(std::string_view key, log_field_value value) const;
  /// A copy without `key`.
  log_fields without(std::string_view key) const;

 private:
  void render();
  std::vector<log_field> fields_;
  std::string text_;
};

/// The longest key accepted.
inline constexpr std::size_t max_log_field_key_size = 64;

/// The JSON line's own members, which a field may not be named (a field
/// never overrides what the library writes: setting one throws).
inline constexpr std::string_view reserved_log_field_keys[] = {
    "time",     "level",          "logger",     "message", "trace_id", "span_id",
    "parent_span_id", "request_id", "method", "path",    "job"};

/// Whether `key` may name a field: 1 to 64 characters of `A-Z a-z 0-9 _ .
/// -`, the first a letter or `_`, and not a reserved key. Such a key needs
/// no escaping in any format. Constant time in the key's length.
bool is_valid_log_field_key(std::string_view key) noexcept;

namespace detail {
void set_log_field_value(std::string_view key, log_field_value value);
}  // namespace detail

/// Sets the field `key` of the current context to `value` (text: anything
/// convertible to std::string_view; whole numbers, floating point and bool
/// keep their type), overwriting a field of that key; every log line of
/// this task from now on carries it, and tasks spawned from now on inherit
/// it. Throws std::invalid_argument naming the rule if `key` is not valid
/// (is_valid_log_field_key), context_error in an Asio handler thread's root
/// context (start a task: aiolocals::co_spawn). Cost: a copy of the
/// current fields and one local write.
template <class T>
void set_log_field(std::string_view key, T&& value) {
  using plain = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<plain, bool>) {
    detail::set_log_field_value(key, log_field_value(std::in_place_type<bool>, value));
  } else if constexpr (std::is_integral_v<plain>) {
    if constexpr (std::is_unsigned_v<plain> && sizeof(plain) >= sizeof(std::int64_t)) {
      if (value > static_cast<plain>(INT64_MAX))
        throw std::invalid_argument("aiolocals: log field value above INT64_MAX; log it as text");
    }
    detail::set_log_field_value(
        key, log_field_value(std::in_place_type<std::int64_t>, static_cast<std::int64_t>(value)));
  } else if constexpr (std::is_floating_point_v<plain>) {
    detail::set_log_field_value(
        key, log_field_value(std::in_place_type<double>, static_cast<double>(value)));
  } else if constexpr (std::is_convertible_v<T&&, std::string_view>) {
    detail::set_log_field_value(
        key, log_field_value(std::in_place_type<std::string>, std::string_view(value)));
  } else {
    static_assert(std::is_convertible_v<T&&, std::string_view>,
                  "a log field holds text, a whole number, a floating-point number or a bool");
  }
}

/// Removes the field `key` from the current context (nothing if absent).
/// Cost: a copy of the current fields and one local write.
void remove_log_field(std::string_view key);

/// The current context's fields (empty outside any). One local lookup;
/// the reference stays valid while the current context holds these fields
/// (until the next set/remove in it, or the task ends).
const log_fields& current_log_fields() noexcept;
/// The fields of `ctx`, read without entering it (empty if none); valid
/// while `ctx` holds them.
const log_fields& log_fields_of(const context& ctx) noexcept;

/// Appends ` key=value` for each field: text escaped as append_escaped
/// does, and the space and `=` too (`\x20`, `\x3d`), so that a value can
/// never forge another field; numbers as std::to_chars writes them
/// (shortest round trip), booleans as true/false. Nothing for no fields.
/// One append: the text is rendered once, when the fields are set.
template <class Buffer>
void append_log_fields_text(Buffer& out, const log_fields& fields) {
  const std::string_view text = fields.text();
  out.append(text.data(), text.data() + text.size());
}

/// Appends `,"key":value` for each field of a JSON object being written:
/// text as a JSON string (escaped, UTF-8 repaired), numbers as JSON
/// numbers, booleans as true/false; a non-finite floating-point value,
/// which JSON cannot hold as a number, as the string "NaN", "Infinity" or
/// "-Infinity".
template <class Buffer>
void append_log_fields_json(Buffer& out, const log_fields& fields) {
  for (const log_field& field : fields.items()) {
    out.push_back(',');
    out.push_back('"');
    out.append(field.key.data(), field.key.data() + field.key.size());  // valid keys need no escaping
    out.push_back('"');
    out.push_back(':');
    std::visit(
        [&out](const auto& value) {
          using type = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<type, std::string>) {
            out.push_back('"');
            append_json_escaped(out, value);
            out.push_back('"');
          } else if constexpr (std::is_same_v<type, bool>) {
            const std::string_view text = value ? "true" : "false";
            out.append(text.data(), text.data() + text.size());
          } else if constexpr (std::is_same_v<type, double>) {
            if (!std::isfinite(value)) {
              const std::string_view text = std::isnan(value) ? "\"NaN\""
                                            : value > 0       ? "\"Infinity\""
                                                              : "\"-Infinity\"";
              out.append(text.data(), text.data() + text.size());
              return;
            }
            char digits[32];
            const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
            out.append(digits, end);
          } else {
            char digits[32];
            const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
            out.append(digits, end);
          }
        },
        field.value);
  }
}

}  // namespace aiolocals
