// SPDX-License-Identifier: BSL-1.0
// Random bytes for ids (request ids, trace and span ids): a per-thread
// buffer of bytes from the OS CSPRNG (the why: entropy.cpp).
// Internal to the library; the take of a few bytes inlines into the id
// makers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "aiolocals/detail/hex.hpp"  // mix64

namespace aiolocals::detail {

// Bumped in a forked child: bytes drawn before it must not be used again.
extern std::atomic<unsigned> fork_generation;

// One thread's random bytes: 1 KiB from getrandom, handed out from the end
// and erased as it goes. See entropy.cpp.
class random_buffer {
 public:
  random_buffer() = default;
  random_buffer(const random_buffer&) = delete;
  random_buffer& operator=(const random_buffer&) = delete;
  ~random_buffer();

  // `count` bytes; a copy while the buffer holds them and no fork happened.
  void take(unsigned char* out, std::size_t count) {
    if (count <= available_ && generation_ == fork_generation.load(std::memory_order_relaxed))
        [[likely]] {
      unsigned char* from = buffer_ + sizeof buffer_ - available_;
      std::memcpy(out, from, count);
      std::memset(from, 0, count);
      available_ -= count;
      return;
    }
    take_refilling(out, count);
  }

 private:
  void take_refilling(unsigned char* out, std::size_t count);
  void refill(unsigned generation);

  unsigned char buffer_[1024] = {};
  std::size_t available_ = 0;  // unread bytes at the end of buffer_
  unsigned generation_ = 0;
};

// This thread's random_buffer, made at its first use; null once the thread's
// thread_local destructors have freed it.
extern constinit thread_local random_buffer* this_thread_random_buffer [[gnu::tls_model("initial-exec")]];
random_buffer* make_this_thread_random_buffer();

// Bytes taken after the thread's random_buffer is gone come straight from the OS.
void os_random_bytes(unsigned char* out, std::size_t size);

/// Fills `out` with `count` unpredictable bytes. Thread-safe. Cost: a copy
/// out of a per-thread buffer (inline); every 1,024 bytes, and first in a
/// thread or a forked child, one getrandom() of 1 KiB.
inline void random_bytes(unsigned char* out, std::size_t count) {
  random_buffer* stream = this_thread_random_buffer;
  if (stream == nullptr) [[unlikely]] {
    stream = make_this_thread_random_buffer();
    if (stream == nullptr) return os_random_bytes(out, count);
  }
  stream->take(out, count);
}

// Span ids: unique, not secret (why: entropy.cpp). Per thread, splitmix64
// over a counter that starts at a getrandom() seed: distinct counters give
// distinct outputs (a bijection), so a thread never repeats a value before
// 2^64 draws; threads and processes start at unrelated seeds; a forked
// child reseeds.
struct unique_sequence {
  std::uint64_t counter = 0;
  unsigned generation = 0;
  bool seeded = false;
};
extern constinit thread_local unique_sequence this_thread_sequence [[gnu::tls_model("initial-exec")]];
void seed_this_thread_sequence() noexcept;

/// A 64-bit value unique within the thread (and, with overwhelming
/// probability, across threads and processes), not suited as a secret.
/// Thread-safe. Cost: an add and a multiply-xorshift mix (inline); first in
/// a thread or a forked child, one getrandom() of 8 bytes.
inline std::uint64_t unique_u64() noexcept {
  unique_sequence& sequence = this_thread_sequence;
  if (!sequence.seeded || sequence.generation != fork_generation.load(std::memory_order_relaxed))
      [[unlikely]] {
    seed_this_thread_sequence();
  }
  sequence.counter += 0x9e3779b97f4a7c15ULL;
  return mix64(sequence.counter);
}

}  // namespace aiolocals::detail
