// SPDX-License-Identifier: BSL-1.0
// Random bytes for ids (request ids, trace and span ids): a per-thread
// ChaCha20 keystream keyed from the OS CSPRNG (the why: entropy.cpp).
// Internal to the library; the take of a few bytes inlines into the id
// makers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace aiolocals::detail {

// Bumped in a forked child: a stream keyed before it must not go on.
extern std::atomic<unsigned> fork_generation;

// One thread's keystream: 1 KiB of ChaCha20 output, handed out from the end
// and erased as it goes. See entropy.cpp.
class keystream {
 public:
  keystream() = default;
  keystream(const keystream&) = delete;
  keystream& operator=(const keystream&) = delete;
  ~keystream();

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
  static constexpr unsigned refills_per_key = 256;
  static constexpr std::size_t key_size = 32;

  void take_refilling(unsigned char* out, std::size_t count);
  void refill(unsigned generation);

  unsigned char buffer_[1024] = {};
  std::uint32_t key_[8] = {};
  std::size_t available_ = 0;  // unread bytes at the end of buffer_
  unsigned refills_left_ = 0;  // 0: draw a key from the OS first
  unsigned generation_ = 0;
};

// This thread's keystream, made at its first use; null once the thread's
// thread_local destructors have freed it.
extern constinit thread_local keystream* this_thread_keystream [[gnu::tls_model("initial-exec")]];
keystream* make_this_thread_keystream();

// Bytes taken after the thread's keystream is gone come straight from the OS.
void os_random_bytes(unsigned char* out, std::size_t size);

/// Fills `out` with `count` unpredictable bytes. Thread-safe. Cost: a copy
/// out of a per-thread buffer (inline); every 992 bytes a refill (16
/// ChaCha20 blocks); every 256 refills, and first in a thread or a forked
/// child, one getrandom() of 32 bytes.
inline void random_bytes(unsigned char* out, std::size_t count) {
  keystream* stream = this_thread_keystream;
  if (stream == nullptr) [[unlikely]] {
    stream = make_this_thread_keystream();
    if (stream == nullptr) return os_random_bytes(out, count);
  }
  stream->take(out, count);
}

}  // namespace aiolocals::detail
