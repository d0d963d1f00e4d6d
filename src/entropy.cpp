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
// id could send it as its own. Each thread keeps 1 KiB drawn from the
// operating system's CSPRNG (getrandom) and hands it out from the end,
// zeroing every byte it hands out, so the buffer never holds an id already
// made. One system call per 1 KiB (about 60 ids with their trace and span
// ids) keeps the cost per id to tens of nanoseconds (docs/benchmarks.md;
// a keystream of our own, ChaCha20 until 0.5, saved some 40 ns an id, too
// little to be worth a cipher in the tree).
//
// A forked child must not repeat its parent's ids: fork bumps a
// generation, and a thread whose buffer is of an older one refills.
#if defined(AIOLOCALS_HAVE_GETRANDOM)
[[maybe_unused]] const bool fork_handler_installed = [] {
  pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();
#endif

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

random_buffer::~random_buffer() { explicit_bzero(buffer_, sizeof buffer_); }

void random_buffer::take_refilling(unsigned char* out, std::size_t count) {
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

void random_buffer::refill(unsigned generation) {
  os_random_bytes(buffer_, sizeof buffer_);
  generation_ = generation;
  available_ = sizeof buffer_;
}

// The thread's random_buffer, made at its first id and freed (erased) when the
// thread exits. The pointer is initial-exec, as the per-thread state of the
// core is: a plain %fs-relative load, where a 1 KiB thread_local object in a
// shared library would cost a __tls_get_addr call per id (8 % of describing
// a request) and is too large for the static TLS a dlopen'ed library may use.
// An id made by a thread_local destructor that runs after the random_buffer's
// comes straight from the OS.
constinit thread_local random_buffer* this_thread_random_buffer [[gnu::tls_model("initial-exec")]] =
    nullptr;

// Span ids need to be unique, not unpredictable: a span id names one span
// of a trace and grants nothing (the W3C text asks only that it be unique
// and carry no identifying data; OpenTelemetry's SDKs draw them from a
// non-cryptographic generator too). Request ids and trace ids stay on the
// CSPRNG bytes above: a request id is what a client could try to guess.
// Drawing 8 bytes per span from the buffer cost a getrandom() of 1 KiB every
// 128 spans, the largest single share of a span block's time
// (docs/benchmarks.md).
constinit thread_local unique_sequence this_thread_sequence [[gnu::tls_model("initial-exec")]]{};

void seed_this_thread_sequence() noexcept {
  unique_sequence& sequence = this_thread_sequence;
  unsigned char seed[sizeof sequence.counter];
  os_random_bytes(seed, sizeof seed);
  std::memcpy(&sequence.counter, seed, sizeof seed);
  explicit_bzero(seed, sizeof seed);
  sequence.generation = fork_generation.load(std::memory_order_relaxed);
  sequence.seeded = true;
}

random_buffer* make_this_thread_random_buffer() {
  if (this_thread_closed) return nullptr;
  struct owner {
    std::unique_ptr<random_buffer> stream = std::make_unique<random_buffer>();
    ~owner() {
      this_thread_random_buffer = nullptr;
      this_thread_closed = true;
    }
  };
  thread_local owner owned;
  this_thread_random_buffer = owned.stream.get();
  return this_thread_random_buffer;
}

}  // namespace aiolocals::detail
