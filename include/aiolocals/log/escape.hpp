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
// input exactly. Cost: one check of 8 or 16 bytes at a time and one append
// when nothing needs escaping. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "aiolocals/detail/hex.hpp"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace aiolocals {

namespace detail {

// Whether `text` holds a byte outside printable ASCII (below 0x20, DEL,
// 0x80 and up) or one of `Also`, using plain 64-bit arithmetic on 8 bytes
// at a time (4 below 8), the last block overlapping the one before. The
// high bit of each byte of `unsafe(w)` says "this byte": below 0x20
// ((w - 0x20..) & ~w is exact for "some byte is below": a borrow only ever
// follows a byte that is), 0x80 and up, DEL or one of `Also` (a zero byte
// after xor). The portable path of needs_escaping, and its path below 16
// bytes.
template <char... Also>
bool needs_escaping_by_words(std::string_view text) noexcept {
  const char* const data = text.data();
  const std::size_t size = text.size();
  constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
  const auto zero_byte = [](std::uint64_t v) { return (v - ones) & ~v; };
  const auto unsafe = [&](std::uint64_t w) {
    std::uint64_t found = ((w - 0x20 * ones) & ~w) | w | zero_byte(w ^ (0x7f * ones));
    ((found |= zero_byte(w ^ (static_cast<unsigned char>(Also) * ones))), ...);
    return found & highs;
  };
  if (size >= 8) {
    std::uint64_t found = 0, word = 0;
    for (std::size_t at = 0; at + 8 < size; at += 8) {
      std::memcpy(&word, data + at, 8);
      found |= unsafe(word);
    }
    std::memcpy(&word, data + size - 8, 8);
    return (found | unsafe(word)) != 0;
  }
  if (size >= 4) {
    std::uint32_t first = 0, last = 0;
    std::memcpy(&first, data, 4);
    std::memcpy(&last, data + size - 4, 4);
    return unsafe(first | std::uint64_t{last} << 32) != 0;
  }
  unsigned char found = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const auto byte = static_cast<unsigned char>(data[i]);
    found |= static_cast<unsigned char>((byte < 0x20) | (byte >= 0x7f) |
                                        ((byte == static_cast<unsigned char>(Also)) | ...));
  }
  return found != 0;
}

// Whether `text` needs escaping (see needs_escaping_by_words). The ids and
// paths a log line carries are short (10-40 bytes), where a
// compiler-vectorised loop spends most of its time in its scalar prologue
// and tail; from 16 bytes on this reads 16 at a time with SSE2 (x86-64's
// baseline), the last block overlapping the one before, so a 40-byte id
// takes three steps.
template <char... Also>
bool needs_escaping(std::string_view text) noexcept {
#if defined(__SSE2__)
  if (text.size() >= 16) {
    // Signed compare: bytes 0x80-0xff are negative, so "< 0x20" catches
    // them along with the controls.
    const auto unsafe = [](const char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      __m128i found = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
      ((found = _mm_or_si128(found, _mm_cmpeq_epi8(v, _mm_set1_epi8(Also)))), ...);
      return found;
    };
    const char* const data = text.data();
    __m128i found = unsafe(data + text.size() - 16);
    for (std::size_t at = 0; at + 16 < text.size(); at += 16) {
      found = _mm_or_si128(found, unsafe(data + at));
    }
    return _mm_movemask_epi8(found) != 0;
  }
#endif
  return needs_escaping_by_words<Also...>(text);
}
}  // namespace detail

/// Appends `text` to `out` escaped as described above, and each of `Also`
/// as `\xNN` too (log fields escape the space and `=`, so that a value
/// cannot forge a `key=value` pair). `Buffer` is std::string,
/// fmt::memory_buffer or alike (push_back and append(first, last)). Safe
/// for any input; no allocation beyond `out`.
template <char... Also, class Buffer>
void append_escaped_with(Buffer& out, std::string_view text) {
  // Common case first: one check, then one append. Only text that needs
  // escaping takes the byte-by-byte path.
  if (!detail::needs_escaping<'\\', Also...>(text)) {
    out.append(text.data(), text.data() + text.size());
    return;
  }
  const char* run = text.data();
  const char* end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    const auto byte = static_cast<unsigned char>(*p);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\' && ((byte != static_cast<unsigned char>(Also)) && ...))
      continue;
    out.append(run, p);
    const char escaped[] = {'\\', 'x', detail::hex_digits[byte >> 4],
                            detail::hex_digits[byte & 0xf]};
    out.append(escaped, escaped + sizeof escaped);
    run = p + 1;
  }
  out.append(run, end);
}

/// Appends `text` to `out` escaped as described above (append_escaped_with
/// with nothing more).
template <class Buffer>
void append_escaped(Buffer& out, std::string_view text) {
  append_escaped_with<>(out, text);
}

}  // namespace aiolocals
