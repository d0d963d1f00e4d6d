// SPDX-License-Identifier: BSL-1.0
#include "entropy.hpp"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>

#include "chacha20.hpp"

#if !defined(__linux__)
#error "aiolocals supports Linux only (getrandom, pthread_atfork, explicit_bzero): see README"
#endif
#if defined(__linux__)
#include <pthread.h>
#include <sys/random.h>
#define AIOLOCALS_HAVE_GETRANDOM 1
#endif

namespace aiolocals::detail {
namespace {

// Ids must stay unpredictable: a client that could guess another request's
// id could send it as its own. Each thread draws a 256-bit key from the
// operating system's CSPRNG (getrandom) and expands it with ChaCha20, the
// construction of OpenBSD's arc4random and Linux's own generator, with fast
// key erasure (D. J. Bernstein, 2017): every refill makes 1 KiB of keystream,
// the first 32 bytes of which become the next key, and every byte handed out
// is zeroed, so the state held at any moment reveals no id made before it.
// Why not a getrandom() for every 4 KiB, as this did first: the kernel's scalar
// ChaCha20 plus the copy cost a third of describing a request (the span id
// alone is 8 bytes a request); the keystream here is computed four blocks
// at a time (docs/benchmarks.md).
//
// The key is drawn afresh at a thread's first id, every 256 refills, and in
// a forked child, which must not repeat its parent's ids: fork bumps a
// generation, and a thread whose buffer is of an older one reseeds.
#if defined(AIOLOCALS_HAVE_GETRANDOM)
[[maybe_unused]] const bool fork_handler_installed = [] {
  pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();
#endif

std::uint32_t load_little_endian(const unsigned char* bytes) noexcept {
  return std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 | std::uint32_t{bytes[2]} << 16 |
         std::uint32_t{bytes[3]} << 24;
}

constinit thread_local bool this_thread_closed [[gnu::tls_model("initial-exec")]] = false;

}  // namespace

constinit std::atomic<unsigned> fork_generation{0};

// `size` bytes from the operating system's CSPRNG.
void os_random_bytes(unsigned char* out, std::size_t size) {
  std::size_t filled = 0;
#if defined(AIOLOCALS_HAVE_GETRANDOM)
  while (filled < size) {
    const ssize_t got = getrandom(out + filled, size - filled, 0);
    if (got > 0) {
      filled += static_cast<std::size_t>(got);
    } else if (got < 0 && errno != EINTR) {
      break;  // the rest from std::random_device
    }
  }
#endif
  if (filled < size) {
    std::random_device device;
    for (std::size_t i = filled; i < size; ++i) out[i] = static_cast<unsigned char>(device());
  }
}

keystream::~keystream() {
  explicit_bzero(buffer_, sizeof buffer_);
  explicit_bzero(key_, sizeof key_);
}

void keystream::take_refilling(unsigned char* out, std::size_t count) {
  const unsigned generation = fork_generation.load(std::memory_order_relaxed);
  while (count > 0) {
    if (available_ == 0 || generation != generation_) refill(generation);
    const std::size_t chunk = std::min(count, available_);
    unsigned char* from = buffer_ + sizeof buffer_ - available_;
    std::memcpy(out, from, chunk);
    std::memset(from, 0, chunk);
    available_ -= chunk;
    out += chunk;
    count -= chunk;
  }
}

void keystream::refill(unsigned generation) {
  if (generation != generation_ || refills_left_ == 0) {
    unsigned char seed[key_size];
    os_random_bytes(seed, sizeof seed);
    for (int i = 0; i < 8; ++i) key_[i] = load_little_endian(seed + 4 * i);
    explicit_bzero(seed, sizeof seed);
    generation_ = generation;
    refills_left_ = refills_per_key;
  }
  --refills_left_;
  // The nonce may stay zero: no key is ever used for more than one refill.
  constexpr std::uint32_t nonce[3] = {0, 0, 0};
  for (std::uint32_t block = 0; block < sizeof buffer_ / 64; block += 4)
    chacha20_four_blocks(key_, nonce, block, buffer_ + 64 * block);
  for (int i = 0; i < 8; ++i) key_[i] = load_little_endian(buffer_ + 4 * i);
  std::memset(buffer_, 0, key_size);
  available_ = sizeof buffer_ - key_size;
}

// The thread's keystream, made at its first id and freed (erased) when the
// thread exits. The pointer is initial-exec, as the per-thread state of the
// core is: a plain %fs-relative load, where a 1 KiB thread_local object in a
// shared library would cost a __tls_get_addr call per id (8 % of describing
// a request) and is too large for the static TLS a dlopen'ed library may use.
// An id made by a thread_local destructor that runs after the keystream's
// comes straight from the OS.
constinit thread_local keystream* this_thread_keystream [[gnu::tls_model("initial-exec")]] =
    nullptr;

keystream* make_this_thread_keystream() {
  if (this_thread_closed) return nullptr;
  struct owner {
    std::unique_ptr<keystream> stream = std::make_unique<keystream>();
    ~owner() {
      this_thread_keystream = nullptr;
      this_thread_closed = true;
    }
  };
  thread_local owner owned;
  this_thread_keystream = owned.stream.get();
  return this_thread_keystream;
}

}  // namespace aiolocals::detail
