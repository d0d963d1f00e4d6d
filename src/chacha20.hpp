// SPDX-License-Identifier: BSL-1.0
// ChaCha20's block function (RFC 8439, section 2.3), four consecutive blocks
// at a time: the keystream behind the library's random ids (entropy.cpp).
// Internal to the library; tests/http/test_request_id.cpp checks it against
// the RFC's test vectors.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace aiolocals::detail {

// Lane i of each word belongs to block i. GCC's and Clang's vector
// extension: SSE2 on x86-64, NEON on AArch64, scalar code elsewhere. The four
// blocks are independent, so one 16-word state of four lanes computes them
// in the time of about one scalar block.
using chacha_lanes = std::uint32_t __attribute__((vector_size(16)));

inline chacha_lanes chacha_rotate(chacha_lanes v, int bits) noexcept {
  return (v << bits) | (v >> (32 - bits));
}

inline void chacha_quarter_round(chacha_lanes& a, chacha_lanes& b, chacha_lanes& c,
                                 chacha_lanes& d) noexcept {
  a += b, d ^= a, d = chacha_rotate(d, 16);
  c += d, b ^= c, b = chacha_rotate(b, 12);
  a += b, d ^= a, d = chacha_rotate(d, 8);
  c += d, b ^= c, b = chacha_rotate(b, 7);
}

// Stores the four words of `v` as 16 little-endian bytes.
inline void store_little_endian(unsigned char* out, chacha_lanes v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &v, sizeof v);
  } else {
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t word = v[i];
      for (int byte = 0; byte < 4; ++byte)
        out[4 * i + byte] = static_cast<unsigned char>(word >> (8 * byte));
    }
  }
}

inline constexpr std::size_t chacha_four_blocks_size = 256;

// Writes the blocks with counters `counter` .. `counter` + 3 of `key` and
// `nonce` (words as RFC 8439 reads them: little-endian) to `out`, serialised
// as the RFC does: 256 bytes of keystream.
inline void chacha20_four_blocks(const std::uint32_t (&key)[8], const std::uint32_t (&nonce)[3],
                                 std::uint32_t counter, unsigned char* out) noexcept {
  chacha_lanes input[16];
  constexpr std::uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 4; ++i) input[i] = chacha_lanes{} + sigma[i];
  for (int i = 0; i < 8; ++i) input[4 + i] = chacha_lanes{} + key[i];
  input[12] = chacha_lanes{counter, counter + 1, counter + 2, counter + 3};
  for (int i = 0; i < 3; ++i) input[13 + i] = chacha_lanes{} + nonce[i];

  chacha_lanes x[16];
  for (int i = 0; i < 16; ++i) x[i] = input[i];
  for (int round = 0; round < 10; ++round) {
    chacha_quarter_round(x[0], x[4], x[8], x[12]);  // columns
    chacha_quarter_round(x[1], x[5], x[9], x[13]);
    chacha_quarter_round(x[2], x[6], x[10], x[14]);
    chacha_quarter_round(x[3], x[7], x[11], x[15]);
    chacha_quarter_round(x[0], x[5], x[10], x[15]);  // diagonals
    chacha_quarter_round(x[1], x[6], x[11], x[12]);
    chacha_quarter_round(x[2], x[7], x[8], x[13]);
    chacha_quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int word = 0; word < 16; ++word) x[word] += input[word];
  // Lane i of words 4k .. 4k+3 is bytes 16k .. 16k+15 of block i: a 4x4
  // transpose of each group of four words.
  for (int group = 0; group < 16; group += 4) {
    const chacha_lanes a = x[group], b = x[group + 1], c = x[group + 2], d = x[group + 3];
    const chacha_lanes ab_low = __builtin_shufflevector(a, b, 0, 4, 1, 5);
    const chacha_lanes ab_high = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    const chacha_lanes cd_low = __builtin_shufflevector(c, d, 0, 4, 1, 5);
    const chacha_lanes cd_high = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    const chacha_lanes rows[4] = {
        __builtin_shufflevector(ab_low, cd_low, 0, 1, 4, 5),
        __builtin_shufflevector(ab_low, cd_low, 2, 3, 6, 7),
        __builtin_shufflevector(ab_high, cd_high, 0, 1, 4, 5),
        __builtin_shufflevector(ab_high, cd_high, 2, 3, 6, 7),
    };
    for (int block = 0; block < 4; ++block)
      store_little_endian(out + 64 * block + 4 * group, rows[block]);
  }
}

}  // namespace aiolocals::detail
