// SPDX-License-Identifier: BSL-1.0
#include "entropy.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#if defined(__linux__)
#include <pthread.h>
#include <sys/random.h>
#define AIOLOCALS_HAVE_GETRANDOM 1
#endif

namespace aiolocals::detail {
namespace {

// The operating system's CSPRNG, fetched 4 KiB at a time: ids stay
// unpredictable (a client cannot guess, and pre-send, another request's id)
// at one getrandom() per 256 ids instead of one per id (what Boost.Uuid's
// random_generator costs; see docs/benchmarks.md). A forked child must not
// reuse the parent's unread bytes (both would hand out the same ids): fork
// bumps a generation, and a buffer filled under an older one is refilled.
std::atomic<unsigned> fork_generation{0};
#if defined(AIOLOCALS_HAVE_GETRANDOM)
[[maybe_unused]] const bool fork_handler_installed = [] {
  pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();
#endif

class entropy_buffer {
 public:
  void take(unsigned char* out, std::size_t count) {
    const unsigned generation = fork_generation.load(std::memory_order_relaxed);
    if (used_ + count > bytes_.size() || generation != generation_) {
      generation_ = generation;
      refill();
    }
    std::memcpy(out, bytes_.data() + used_, count);
    used_ += count;
  }

 private:
  void refill() {
    std::size_t filled = 0;
#if defined(AIOLOCALS_HAVE_GETRANDOM)
    while (filled < bytes_.size()) {
      const ssize_t got = getrandom(bytes_.data() + filled, bytes_.size() - filled, 0);
      if (got > 0) {
        filled += static_cast<std::size_t>(got);
      } else if (got < 0 && errno != EINTR) {
        break;  // the rest from std::random_device
      }
    }
#endif
    if (filled < bytes_.size()) {
      std::random_device device;
      for (std::size_t i = filled; i < bytes_.size(); ++i) {
        bytes_[i] = static_cast<unsigned char>(device());
      }
    }
    used_ = 0;
  }
  std::array<unsigned char, 4096> bytes_{};
  std::size_t used_ = bytes_.size();  // empty: the first take refills
  unsigned generation_ = 0;
};

}  // namespace

void random_bytes(unsigned char* out, std::size_t count) {
  thread_local entropy_buffer entropy;
  entropy.take(out, count);
}

}  // namespace aiolocals::detail
