// SPDX-License-Identifier: BSL-1.0
// aiolocals/detail/hex.hpp - lowercase hex digits, written without
// allocating: the one writer behind ids, trace context, escapes and log
// fields. Not public; standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace aiolocals::detail {

inline constexpr char hex_digits[] = "0123456789abcdef";

// Writes `bytes` as 2 * bytes.size() lowercase hex digits at `out`;
// returns the end. noexcept; the caller sizes `out`.
inline char* write_hex(std::span<const std::uint8_t> bytes, char* out) noexcept {
  for (std::uint8_t byte : bytes) {
    *out++ = hex_digits[byte >> 4];
    *out++ = hex_digits[byte & 0xf];
  }
  return out;
}

// Writes `value` as 16 lowercase hex digits, most significant first.
inline char* write_hex(std::uint64_t value, char* out) noexcept {
  for (int shift = 60; shift >= 0; shift -= 4) *out++ = hex_digits[(value >> shift) & 0xf];
  return out;
}

// splitmix64's finaliser: a bijection on 64-bit values that spreads
// consecutive inputs far apart (hash keys, job-id counters).
inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace aiolocals::detail
