// SPDX-License-Identifier: BSL-1.0
// aiolocals/log/escape.hpp - making untrusted text safe for one log line.
// Framework-neutral: standard library only.
//
//   std::string line = "path=";
//   aiolocals::append_escaped(line, client_path);   // never breaks the line
//
// Every byte outside printable ASCII (controls, DEL, every byte >= 0x80)
// and the backslash become `\xNN` (lowercase hex), so a client cannot end a
// line, forge another, or colour a terminal; the result decodes back to the
// input exactly. Cost: one branch-free pass over the text (vectorised)
// and one append when nothing needs escaping. Thread-safe (no state).
#pragma once

#include <string_view>

namespace aiolocals {

namespace detail {
inline constexpr char hex_digits[] = "0123456789abcdef";
}  // namespace detail

/// Appends `text` to `out` escaped as described above. `Buffer` is
/// std::string, fmt::memory_buffer or alike (push_back and
/// append(first, last)). Safe for any input; no allocation beyond `out`.
template <class Buffer>
void append_escaped(Buffer& out, std::string_view text) {
  // Common case first: a branch-free scan the compiler vectorises, then one
  // append. Only text that needs escaping takes the byte-by-byte path.
  // (A byte-wide accumulator keeps the vector loop in byte lanes.)
  unsigned char unsafe = 0;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    unsafe |= static_cast<unsigned char>((byte < 0x20) | (byte >= 0x7f) | (byte == '\\'));
  }
  if (unsafe == 0) {
    out.append(text.data(), text.data() + text.size());
    return;
  }
  const char* run = text.data();
  const char* end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    const auto byte = static_cast<unsigned char>(*p);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') continue;
    out.append(run, p);
    const char escaped[] = {'\\', 'x', detail::hex_digits[byte >> 4],
                            detail::hex_digits[byte & 0xf]};
    out.append(escaped, escaped + sizeof escaped);
    run = p + 1;
  }
  out.append(run, end);
}

}  // namespace aiolocals
