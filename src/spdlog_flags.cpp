// SPDX-License-Identifier: BSL-1.0
// The request flags (%q %U %W %J %K %Q %k), make_formatter and
// configure_logging (target aiolocals::spdlog).
#include "aiolocals/spdlog.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "aiolocals/detail/hex.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/fields.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"
#include "spdlog_internal.hpp"

namespace aiolocals {

namespace {

using detail::context_is_the_lines;

// Appends `text` escaped, honouring spdlog's padding spec (%8q, %-36q,
// %=10U, %8!q truncates) as the built-in flags do.
void append_padded(::spdlog::memory_buf_t& dest, std::string_view text,
                   const ::spdlog::details::padding_info& padding, bool escape) {
  if (!padding.enabled()) {
    if (escape) {
      append_escaped(dest, text);
    } else {
      dest.append(text.data(), text.data() + text.size());
    }
    return;
  }
  ::spdlog::memory_buf_t field;
  if (escape) {
    append_escaped(field, text);
  } else {
    field.append(text.data(), text.data() + text.size());
  }
  std::size_t size = field.size();
  if (padding.truncate_ && size > padding.width_) size = padding.width_;
  const std::size_t pad = padding.width_ > size ? padding.width_ - size : 0;
  using side = ::spdlog::details::padding_info::pad_side;
  const std::size_t before = padding.side_ == side::left     ? pad
                             : padding.side_ == side::center ? pad / 2
                                                             : 0;
  for (std::size_t i = 0; i < before; ++i) dest.push_back(' ');
  dest.append(field.data(), field.data() + size);
  for (std::size_t i = before; i < pad; ++i) dest.push_back(' ');
}

// One flag: a field of the current request or span, '-' outside one or when
// the field is empty (a job has no method, a record may have no trace), the
// marker where the line's request cannot be known. `Field` says what to read
// and whether it needs escaping (client bytes do; hex ids do not).
template <class Field>
class request_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg& msg, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    if (!context_is_the_lines(msg)) {
      append_padded(dest, unknown_context_marker, padinfo_, false);
      return;
    }
    typename Field::scratch scratch{};
    const std::string_view value = Field::read(scratch);
    if (value.empty()) {
      append_padded(dest, "-", padinfo_, false);
    } else {
      append_padded(dest, value, padinfo_, Field::escape);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<request_flag>();
  }
};

// %Q: the seed's tag "<path>#<id>" as one flag, exactly what "%U#%q"
// prints, with one context check and one lookup where "%U#%q" takes two of
// each and two more pattern pieces (spdlog calls one formatter per piece).
class request_tag_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg& msg, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    if (!padinfo_.enabled()) {
      write(msg, dest);
      return;
    }
    ::spdlog::memory_buf_t tag;
    write(msg, tag);
    append_padded(dest, {tag.data(), tag.size()}, padinfo_, false);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<request_tag_flag>();
  }

 private:
  static void write(const ::spdlog::details::log_msg& msg, ::spdlog::memory_buf_t& out) {
    if (!context_is_the_lines(msg)) {
      append_part(out, unknown_context_marker, false);
      out.push_back('#');
      append_part(out, unknown_context_marker, false);
      return;
    }
    const request_info* current = request.find();
    const std::string_view path = current != nullptr ? std::string_view(current->path) : "";
    const std::string_view id = current != nullptr ? std::string_view(current->id) : "";
    if (!path.empty() && !id.empty() && !detail::needs_escaping<'\\'>(path) &&
        !detail::needs_escaping<'\\'>(id)) {
      // The usual line: both parts safe as they are, written with one
      // capacity check instead of three appends.
      const std::size_t start = out.size();
      out.resize(start + path.size() + 1 + id.size());
      char* at = out.data() + start;
      std::memcpy(at, path.data(), path.size());
      at[path.size()] = '#';
      std::memcpy(at + path.size() + 1, id.data(), id.size());
      return;
    }
    append_part(out, path, true);
    out.push_back('#');
    append_part(out, id, true);
  }
  static void append_part(::spdlog::memory_buf_t& out, std::string_view text, bool escape) {
    if (text.empty()) {
      out.push_back('-');
    } else if (escape) {
      append_escaped(out, text);
    } else {
      out.append(text.data(), text.data() + text.size());
    }
  }
};

// %q %U %W: a string field of the record, escaped.
template <std::string request_info::*member>
struct text_field {
  static constexpr bool escape = true;
  struct scratch {};
  static std::string_view read(scratch&) noexcept {
    const request_info* current = request.find();
    return current != nullptr ? std::string_view(current->*member) : std::string_view();
  }
};

// %J / %K: the W3C trace id / the current span's id (the innermost
// `aiolocals::span` block, else the request's server span) in lowercase
// hex, written into a buffer on the stack (no allocation per line).
template <bool span>
struct trace_field {
  static constexpr bool escape = false;
  using scratch = std::array<char, 32>;
  static std::string_view read(scratch& hex) noexcept {
    const span_context current = current_span();
    if (!current.is_valid()) return {};
    const std::span<const std::uint8_t> bytes =
        span ? std::span<const std::uint8_t>(current.span.bytes) : current.trace.bytes;
    return {hex.data(), static_cast<std::size_t>(detail::write_hex(bytes, hex.data()) - hex.data())};
  }
};

// %k: the task's log fields as " key=value" pairs (nothing when none;
// the marker, as " (unknown)", where the line's context cannot be known).
class log_fields_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg& msg, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    if (!padinfo_.enabled()) {
      write(msg, dest);
      return;
    }
    ::spdlog::memory_buf_t fields;
    write(msg, fields);
    append_padded(dest, {fields.data(), fields.size()}, padinfo_, false);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<log_fields_flag>();
  }

 private:
  static void write(const ::spdlog::details::log_msg& msg, ::spdlog::memory_buf_t& out) {
    if (!context_is_the_lines(msg)) {
      out.push_back(' ');
      const std::string_view marker = unknown_context_marker;
      out.append(marker.data(), marker.data() + marker.size());
      return;
    }
    append_log_fields_text(out, current_log_fields());
  }
};

}  // namespace

void add_request_flags(::spdlog::pattern_formatter& formatter) {
  formatter.add_flag<log_fields_flag>(log_fields_flag_letter);
  formatter.add_flag<request_flag<trace_field<false>>>(request_trace_id_flag);
  formatter.add_flag<request_flag<trace_field<true>>>(request_span_id_flag);
  formatter.add_flag<request_flag<text_field<&request_info::id>>>(request_id_flag);
  formatter.add_flag<request_flag<text_field<&request_info::path>>>(request_path_flag);
  formatter.add_flag<request_flag<text_field<&request_info::method>>>(request_method_flag);
  formatter.add_flag<request_tag_flag>(request_tag_flag_letter);
}

std::unique_ptr<::spdlog::pattern_formatter> make_formatter(std::string pattern) {
  auto formatter = std::make_unique<::spdlog::pattern_formatter>();
  add_request_flags(*formatter);
  formatter->set_pattern(std::move(pattern));
  return formatter;
}

void detail::set_formatter_everywhere(std::unique_ptr<::spdlog::formatter> formatter) {
  std::string refused;
  ::spdlog::apply_all([&](const std::shared_ptr<::spdlog::logger>& logger) {
    if (std::dynamic_pointer_cast<::spdlog::async_logger>(logger)) {
      refused += (refused.empty() ? "'" : ", '") + logger->name() + "'";
    }
  });
  if (!refused.empty()) {
    throw configuration_error(
        "aiolocals: spdlog::async_logger " + refused +
        " formats on its worker thread, where the caller's request is not known, so its lines "
        "would carry no ids; create it with aiolocals::make_async_logger instead");
  }
  ::spdlog::set_formatter(std::move(formatter));
}

void configure_logging(std::string pattern) {
  detail::set_formatter_everywhere(make_formatter(std::move(pattern)));
}

}  // namespace aiolocals
