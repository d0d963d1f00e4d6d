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

#include <cstddef>
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

}  // namespace aiolocals
