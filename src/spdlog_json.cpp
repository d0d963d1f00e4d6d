// SPDX-License-Identifier: BSL-1.0
// JSON log lines (aiolocals/spdlog/json_formatter.hpp).
#include "aiolocals/spdlog/json_formatter.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include "aiolocals/log/fields.hpp"
#include "aiolocals/log/json.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"
#include "aiolocals/spdlog/flags.hpp"
#include "spdlog_internal.hpp"

namespace aiolocals {

namespace {

using buffer = ::spdlog::memory_buf_t;

void append(buffer& out, std::string_view text) { out.append(text.data(), text.data() + text.size()); }

// ,"key":"<text escaped>"
void append_string_field(buffer& out, std::string_view key, std::string_view text) {
  append(out, ",\"");
  append(out, key);
  append(out, "\":\"");
  append_json_escaped(out, text);
  out.push_back('"');
}

// ,"key":"<bytes in lowercase hex>", composed on the stack and appended
// at once (fmt's append is a call with a capacity check per piece).
void append_hex_field(buffer& out, std::string_view key, std::span<const std::uint8_t> bytes) {
  std::array<char, 64> field{};  // the longest: ,"parent_span_id":"<16 hex>"
  char* p = field.data();
  *p++ = ',';
  *p++ = '"';
  p = std::copy(key.begin(), key.end(), p);
  *p++ = '"';
  *p++ = ':';
  *p++ = '"';
  p = detail::write_hex(bytes, p);
  *p++ = '"';
  out.append(field.data(), p);
}

}  // namespace

json_formatter::json_formatter(std::string eol) : eol_(std::move(eol)) {}

void json_formatter::format(const ::spdlog::details::log_msg& msg, buffer& dest) {
  using namespace std::chrono;
  const auto since_epoch = msg.time.time_since_epoch();
  const auto second = floor<seconds>(since_epoch);
  const auto nanos = duration_cast<nanoseconds>(since_epoch - second).count();
  if (second.count() != cached_second_) {
    // The date and time of a new second (spdlog caches its own the same way).
    detail::write_date_time(cached_text_, sys_seconds(second));
    cached_second_ = second.count();
  }
  const request_info* current = nullptr;
  const bool known = detail::context_is_the_lines(msg);
  if (known) current = request.find();
  // One allocation at most: room for the line if nothing needs escaping.
  std::size_t estimate = 256 + msg.logger_name.size() + msg.payload.size();
  if (current != nullptr) estimate += current->id.size() + current->method.size() + current->path.size();
  dest.reserve(dest.size() + estimate);

  // {"time":"<date-time>.<nanoseconds>Z","level":"<level>"
  std::array<char, 64> head{};
  char* p = std::copy_n("{\"time\":\"", 9, head.data());
  p = std::copy(cached_text_, cached_text_ + sizeof cached_text_ - 1, p);
  *p++ = '.';
  detail::put_digits(p, static_cast<std::uint64_t>(nanos), 9);
  p += 9;
  p = std::copy_n("Z\",\"level\":\"", 12, p);
  const auto level = ::spdlog::level::to_string_view(msg.level);
  p = std::copy(level.data(), level.data() + level.size(), p);
  *p++ = '"';
  dest.append(head.data(), p);
  append_string_field(dest, "logger", {msg.logger_name.data(), msg.logger_name.size()});
  append_string_field(dest, "message", {msg.payload.data(), msg.payload.size()});

  if (!known) {
    append_string_field(dest, "request_id", unknown_context_marker);
  } else {
    const span_context span = current_span();
    if (span.is_valid()) {
      append_hex_field(dest, "trace_id", span.trace.bytes);
      append_hex_field(dest, "span_id", span.span.bytes);
      if (span.parent.is_valid()) append_hex_field(dest, "parent_span_id", span.parent.bytes);
    }
  }
  if (known && current != nullptr) {
    append_string_field(dest, "request_id", current->id);
    if (current->kind == request_kind::job) {
      append_string_field(dest, "job", current->path);
    } else {
      append_string_field(dest, "method", current->method);
      append_string_field(dest, "path", current->path);
    }
  }
  if (known) append_log_fields_json(dest, current_log_fields());
  dest.push_back('}');
  append(dest, eol_);
}

std::unique_ptr<::spdlog::formatter> json_formatter::clone() const {
  return std::make_unique<json_formatter>(eol_);
}

std::unique_ptr<json_formatter> make_json_formatter() { return std::make_unique<json_formatter>(); }

void configure_json_logging() { detail::set_formatter_everywhere(make_json_formatter()); }

}  // namespace aiolocals
