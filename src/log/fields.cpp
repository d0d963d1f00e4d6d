// SPDX-License-Identifier: BSL-1.0
// Log fields: the local that carries them, and setting and removing them.
#include "aiolocals/log/fields.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "aiolocals/local.hpp"

namespace aiolocals {
namespace {

local<log_fields> fields_local{"aiolocals::log fields"};
// (A function's static: ready whenever a static initialiser elsewhere asks.)
const log_fields& no_fields() {
  static const log_fields none;
  return none;
}

bool is_key_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_key_char(char c) noexcept {
  return is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

void check_key(std::string_view key) {
  if (is_valid_log_field_key(key)) return;
  std::string shown;
  append_escaped(shown, key.substr(0, max_log_field_key_size + 1));
  const bool reserved = std::find(std::begin(reserved_log_field_keys),
                                  std::end(reserved_log_field_keys),
                                  key) != std::end(reserved_log_field_keys);
  throw std::invalid_argument(
      reserved ? "aiolocals: log field key '" + shown +
                     "' is one of the JSON line's own members (time, level, logger, message, "
                     "trace_id, span_id, parent_span_id, request_id, method, path, job); name "
                     "your field otherwise, e.g. 'app." + shown + "'"
               : "aiolocals: log field key '" + shown +
                     "' is not valid: use 1 to 64 characters of A-Z a-z 0-9 _ . -, the first a "
                     "letter or '_'");
}

}  // namespace

bool is_valid_log_field_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > max_log_field_key_size || !is_key_start(key.front())) return false;
  if (!std::all_of(key.begin() + 1, key.end(), is_key_char)) return false;
  return std::find(std::begin(reserved_log_field_keys), std::end(reserved_log_field_keys), key) ==
         std::end(reserved_log_field_keys);
}

void log_fields::render() {
  text_.clear();
  for (const log_field& field : fields_) {
    text_.push_back(' ');
    text_.append(field.key);
    text_.push_back('=');
    std::visit(
        [this](const auto& value) {
          using type = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<type, std::string>) {
            append_escaped_with<' ', '='>(text_, value);
          } else if constexpr (std::is_same_v<type, bool>) {
            text_.append(value ? "true" : "false");
          } else {
            char digits[32];
            const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
            text_.append(digits, end);
          }
        },
        field.value);
  }
}

log_fields log_fields::with(std::string_view key, log_field_value value) const {
  log_fields copy;
  copy.fields_.reserve(fields_.size() + 1);
  copy.fields_.insert(copy.fields_.end(), fields_.begin(), fields_.end());
  for (log_field& field : copy.fields_) {
    if (field.key == key) {
      field.value = std::move(value);
      copy.render();
      return copy;
    }
  }
  copy.fields_.push_back({std::string(key), std::move(value)});
  copy.render();
  return copy;
}

log_fields log_fields::without(std::string_view key) const {
  log_fields copy;
  copy.fields_.reserve(fields_.size());
  for (const log_field& field : fields_)
    if (field.key != key) copy.fields_.push_back(field);
  copy.render();
  return copy;
}

void detail::set_log_field_value(std::string_view key, log_field_value value) {
  check_key(key);
  const log_fields* current = fields_local.find();
  fields_local.set(current != nullptr ? current->with(key, std::move(value))
                                      : log_fields().with(key, std::move(value)));
}

void remove_log_field(std::string_view key) {
  const log_fields* current = fields_local.find();
  if (current == nullptr || current->find(key) == nullptr) return;
  fields_local.set(current->without(key));
}

const log_fields& current_log_fields() noexcept {
  const log_fields* current = fields_local.find();
  return current != nullptr ? *current : no_fields();
}

const log_fields& log_fields_of(const context& ctx) noexcept {
  const log_fields* held = ctx.find(fields_local);
  return held != nullptr ? *held : no_fields();
}

}  // namespace aiolocals
