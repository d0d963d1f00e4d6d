// SPDX-License-Identifier: BSL-1.0
// W3C Trace Context Level 2 parsing and formatting.
#include "aiolocals/trace/trace_context.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../entropy.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/trace/span_record.hpp"

namespace aiolocals {
namespace {

// At most this many valid members are read (twice what can be passed on):
// the work per header stays bounded whatever a client sends.
constexpr std::size_t tracestate_members_read = 64;

// A lowercase hex digit's value, or -1 (uppercase is invalid in the spec).
int lower_hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Parses 2 * N lowercase hex digits into `out`.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int high = lower_hex(text[2 * i]), low = lower_hex(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  std::string text(2 * N, '\0');
  detail::write_hex(bytes, text.data());
  return text;
}

template <class Id>
Id generate_nonzero() {
  Id id;
  do {
    detail::random_bytes(id.bytes.data(), id.bytes.size());
  } while (!id.is_valid());
  return id;
}


bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_key_char(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/' || c == '@';
}

// Level 2: key = ( lcalpha / DIGIT ) 0*255 ( keychar ), with '@' among the
// key characters (Level 1's tenant@system split and its 241/14 limits are
// gone).
bool is_valid_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 256 || !(is_lcalpha(key[0]) || is_digit(key[0]))) return false;
  return std::all_of(key.begin() + 1, key.end(), is_key_char);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (no ',' and no '=').
bool is_valid_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string trace_id::to_hex() const { return aiolocals::to_hex(bytes); }
std::string span_id::to_hex() const { return aiolocals::to_hex(bytes); }

trace_id generate_trace_id() { return generate_nonzero<trace_id>(); }
// Unique per thread, not secret: see detail::unique_u64.
span_id generate_span_id() {
  span_id id;
  std::uint64_t value = 0;
  do {
    value = detail::unique_u64();
  } while (value == 0);
  std::memcpy(id.bytes.data(), &value, sizeof value);
  return id;
}

std::optional<trace_parent> parse_traceparent(std::string_view value) noexcept {
  if (value.size() < traceparent_size) return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!parse_hex(value.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && value.size() != traceparent_size) return std::nullopt;
  // Forward compatibility: a higher version may carry more after a '-'.
  if (value.size() > traceparent_size && value[traceparent_size] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  trace_parent parent;
  parent.version = version[0];
  if (!parse_hex(value.substr(3, 32), parent.trace.bytes) ||
      !parse_hex(value.substr(36, 16), parent.parent.bytes) ||
      !parse_hex(value.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!parent.trace.is_valid() || !parent.parent.is_valid()) return std::nullopt;
  parent.flags = flags[0];
  return parent;
}

std::optional<trace_parent> parse_traceparent(std::span<const std::string_view> values) noexcept {
  if (values.size() != 1) return std::nullopt;
  return parse_traceparent(values.front());
}

std::string_view format_traceparent(std::span<char, traceparent_size> out, const trace_id& trace,
                                    const span_id& span, std::uint8_t flags) noexcept {
  char* p = out.data();
  auto put_hex = [&](std::span<const std::uint8_t> bytes) { p = detail::write_hex(bytes, p); };
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  put_hex(trace.bytes);
  *p++ = '-';
  put_hex(span.bytes);
  *p++ = '-';
  const std::uint8_t sent_flags = flags & known_trace_flags;  // other bits: zero
  put_hex(std::span<const std::uint8_t>(&sent_flags, 1));
  return {out.data(), out.size()};
}

std::string format_traceparent(const trace_id& trace, const span_id& span, std::uint8_t flags) {
  std::array<char, traceparent_size> text;
  return std::string(format_traceparent(text, trace, span, flags));
}

std::string validate_tracestate(std::span<const std::string_view> values) {
  // The valid members, in order, the first of each key only.
  std::vector<std::string_view> members;
  for (std::string_view value : values) {
    while (true) {
      const std::size_t comma = value.find(',');
      const std::string_view member = trim_ows(value.substr(0, comma));
      const std::size_t equals = member.find('=');
      if (equals != std::string_view::npos) {
        const std::string_view key = member.substr(0, equals);
        const bool known = std::any_of(members.begin(), members.end(), [&](std::string_view m) {
          return m.size() > key.size() && m[key.size()] == '=' && m.starts_with(key);
        });
        if (!known && is_valid_key(key) && is_valid_value(member.substr(equals + 1))) {
          members.push_back(member);
          if (members.size() == tracestate_members_read) break;  // bounded work
        }
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
    if (members.size() == tracestate_members_read) break;
  }
  // Over the limits: whole members go, those over 128 characters first,
  // then from the end (the text's order), until 32 members and 512
  // characters remain.
  auto joined_size = [&] {
    std::size_t size = members.empty() ? 0 : members.size() - 1;
    for (std::string_view m : members) size += m.size();
    return size;
  };
  auto over = [&] { return members.size() > max_tracestate_members || joined_size() > max_tracestate_size; };
  for (std::size_t i = members.size(); i-- > 0 && over();) {
    if (members[i].size() > 128) members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
  }
  while (over()) members.pop_back();
  std::string joined;
  joined.reserve(joined_size());
  for (std::string_view m : members) {
    if (!joined.empty()) joined.push_back(',');
    joined.append(m);
  }
  return joined;
}

trace_context start_trace() {
  trace_context started;
  // Level 2: every bit of our trace ids is random, so the random flag is
  // set; sampled when this process records spans (a span sink installed).
  started.flags = trace_flag_random | (span_recording_enabled() ? trace_flag_sampled : 0);
  // Both ids in one draw of random bytes.
  unsigned char bytes[sizeof started.trace.bytes + sizeof started.span.bytes];
  do {
    detail::random_bytes(bytes, sizeof bytes);
    std::memcpy(started.trace.bytes.data(), bytes, sizeof started.trace.bytes);
    std::memcpy(started.span.bytes.data(), bytes + sizeof started.trace.bytes,
                sizeof started.span.bytes);
  } while (!started.trace.is_valid() || !started.span.is_valid());
  return started;
}

trace_context continue_or_start_trace(std::span<const std::string_view> traceparent_values,
                                      std::span<const std::string_view> tracestate_values,
                                      bool trust_incoming) {
  if (!trust_incoming) return start_trace();
  const std::optional<trace_parent> parent = parse_traceparent(traceparent_values);
  if (!parent) return start_trace();  // absent, duplicated or invalid: restart
  trace_context continued;
  continued.trace = parent->trace;
  continued.parent = parent->parent;
  continued.span = generate_span_id();
  // Level 2: sampled and random pass on as received (random MUST keep the
  // incoming value while the trace id is kept); every other bit is zero.
  continued.flags = parent->flags & known_trace_flags;
  continued.tracestate = validate_tracestate(tracestate_values);
  return continued;
}

}  // namespace aiolocals
