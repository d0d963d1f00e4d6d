// SPDX-License-Identifier: BSL-1.0
// aiolocals/log/json.hpp - untrusted text as the contents of a JSON string
// (RFC 8259), for log lines a collector ingests. Framework-neutral:
// standard library only.
//
//   std::string line = "{\"path\":\"";
//   aiolocals::append_json_escaped(line, client_path);
//   line += "\"}";                       // always one valid JSON line
//
// Rules: `"` and `\` are escaped; every control byte (U+0000-U+001F) and
// DEL become `\b \f \n \r \t` or `\u00XX`, so the line never breaks and a
// terminal is never coloured; U+2028/U+2029 become `\u2028`/`\u2029`
// (JavaScript readers split lines there); well-formed UTF-8 passes through
// unchanged; each ill-formed UTF-8 sequence (stray continuation bytes,
// overlong forms, surrogates, code points above U+10FFFF, truncated
// sequences; Unicode's "maximal subpart" rule) becomes one U+FFFD. The
// output is valid UTF-8 and at most 6 bytes per input byte; a JSON parser
// gives back the input exactly when the input was valid UTF-8 without
// U+FFFD-worthy bytes.
// Cost: one check of 16 or 8 bytes at a time (the one append_escaped uses)
// and one append when nothing needs attention (printable ASCII); otherwise
// a byte-wise pass. No state: thread-safe; no allocation beyond `out`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aiolocals/log/escape.hpp"  // detail::hex_digits

namespace aiolocals {

namespace detail {

// The length of the well-formed UTF-8 sequence at `p` (Unicode 15, Table
// 3-7), or 0 if the sequence there is ill-formed; `*consumed` is then the
// length of its maximal subpart (at least 1), which one U+FFFD replaces.
inline std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end,
                                 std::size_t* consumed) noexcept {
  const unsigned lead = p[0];
  std::size_t length = 0;
  unsigned low = 0x80, high = 0xbf;  // the second byte's range
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // no overlongs
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // no overlongs
    if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
  } else {
    *consumed = 1;  // a continuation byte, C0/C1 or F5-FF
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (p + i == end || p[i] < low || p[i] > high) {
      *consumed = i;
      return 0;
    }
    low = 0x80;
    high = 0xbf;
  }
  *consumed = length;
  return length;
}

}  // namespace detail

/// Appends `text` to `out` as the contents of a JSON string (without the
/// quotes), by the rules above. `Buffer` is std::string, fmt::memory_buffer
/// or alike (push_back and append(first, last)).
template <class Buffer>
void append_json_escaped(Buffer& out, std::string_view text) {
  if (!detail::needs_escaping<'"', '\\'>(text)) {
    out.append(text.data(), text.data() + text.size());
    return;
  }
  const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = begin + text.size();
  const auto* run = begin;  // start of bytes not yet appended, passed through
  auto flush = [&](const unsigned char* upto) {
    out.append(reinterpret_cast<const char*>(run), reinterpret_cast<const char*>(upto));
  };
  auto put = [&](std::string_view s) { out.append(s.data(), s.data() + s.size()); };
  for (const auto* p = begin; p != end;) {
    const unsigned byte = *p;
    if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      ++p;
      continue;
    }
    if (byte >= 0x80) {
      std::size_t consumed = 0;
      const std::size_t length = detail::utf8_sequence(p, end, &consumed);
      const bool line_separator =
          length == 3 && byte == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9);
      if (length != 0 && !line_separator) {
        p += length;  // well-formed: passes through
        continue;
      }
      flush(p);
      put(length == 0 ? std::string_view("\xef\xbf\xbd") : p[2] == 0xa8 ? "\\u2028" : "\\u2029");
      p += consumed;
      run = p;
      continue;
    }
    flush(p);
    switch (byte) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\b': put("\\b"); break;
      case '\f': put("\\f"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default: {
        const char escaped[] = {'\\', 'u', '0', '0', detail::hex_digits[byte >> 4],
                                detail::hex_digits[byte & 0xf]};
        out.append(escaped, escaped + sizeof escaped);
      }
    }
    ++p;
    run = p;
  }
  flush(end);
}

namespace detail {

// `value` as exactly `digits` decimal digits at `out`.
inline void put_digits(char* out, std::uint64_t value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// "YYYY-MM-DDTHH:MM:SS" (19 characters, UTC) of `second` at `out`.
inline void write_date_time(char* out, std::chrono::sys_seconds second) noexcept {
  using namespace std::chrono;
  const sys_days day = floor<days>(second);
  const year_month_day date(day);
  const hh_mm_ss time(second - day);
  put_digits(out, static_cast<std::uint64_t>(static_cast<int>(date.year())), 4);
  out[4] = '-';
  put_digits(out + 5, static_cast<unsigned>(date.month()), 2);
  out[7] = '-';
  put_digits(out + 8, static_cast<unsigned>(date.day()), 2);
  out[10] = 'T';
  put_digits(out + 11, static_cast<std::uint64_t>(time.hours().count()), 2);
  out[13] = ':';
  put_digits(out + 14, static_cast<std::uint64_t>(time.minutes().count()), 2);
  out[16] = ':';
  put_digits(out + 17, static_cast<std::uint64_t>(time.seconds().count()), 2);
}

}  // namespace detail

/// Appends `t` as RFC 3339 UTC with nanoseconds,
/// "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (30 characters, no quotes). No
/// allocation beyond `out`; thread-safe.
template <class Buffer>
void append_rfc3339(Buffer& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<nanoseconds>(t.time_since_epoch());
  const auto second = floor<seconds>(since_epoch);
  char text[30];
  detail::write_date_time(text, sys_seconds(second));
  text[19] = '.';
  detail::put_digits(text + 20, static_cast<std::uint64_t>((since_epoch - second).count()), 9);
  text[29] = 'Z';
  out.append(text, text + sizeof text);
}

}  // namespace aiolocals
