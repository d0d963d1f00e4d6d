// SPDX-License-Identifier: BSL-1.0
// The framework-neutral request-id rules: validation, generation from OS
// entropy, choosing among a client's header values, diagnostics.
#include "aiolocals/http/request_id.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "aiolocals/log/escape.hpp"

#if defined(__linux__)
#include <pthread.h>
#include <sys/random.h>
#define AIOLOCALS_HAVE_GETRANDOM 1
#endif

namespace aiolocals {

bool is_safe_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '-';
    if (!safe) return false;
  }
  return true;
}

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

// Whatever a user's validator accepts or generator makes, the id is echoed
// in a response header and printed in diagnostics: printable ASCII only
// (no CR, LF, NUL or other control byte can split the response).
bool is_printable_ascii(std::string_view text) noexcept {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return false;
  }
  return !text.empty();
}

}  // namespace

std::string generate_request_id() {
  thread_local entropy_buffer entropy;
  std::array<unsigned char, 16> bits;
  entropy.take(bits.data(), bits.size());
  bits[6] = static_cast<unsigned char>((bits[6] & 0x0f) | 0x40);  // version 4
  bits[8] = static_cast<unsigned char>((bits[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string id;
  id.reserve(36);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(detail::hex_digits[bits[i] >> 4]);
    id.push_back(detail::hex_digits[bits[i] & 0xf]);
  }
  return id;
}

std::string_view path_without_query(std::string_view target) noexcept {
  return target.substr(0, target.find_first_of("?#"));
}

std::string choose_request_id(std::span<const std::string_view> header_values,
                              const tracking_options& options) {
  if (!header_values.empty()) {
    const std::string_view candidate = header_values.front();
    bool agree = true;
    for (std::string_view value : header_values) agree = agree && value == candidate;
    if (agree && options.is_acceptable && options.is_acceptable(candidate) &&
        is_printable_ascii(candidate)) {
      return std::string(candidate);
    }
  }
  if (options.generate) {
    std::string generated = options.generate();
    if (is_printable_ascii(generated)) return generated;
  }
  return generate_request_id();
}

request_info describe_request(std::string_view method, std::string_view target,
                              std::span<const std::string_view> header_values,
                              const tracking_options& options) {
  return request_info{choose_request_id(header_values, options), std::string(method),
                      std::string(path_without_query(target)), request_kind::request};
}

void tracking_options::report_to_stderr(std::exception_ptr error) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  const request_info* current = request.find();
  std::string line = "aiolocals: unhandled exception in request ";
  if (current != nullptr) {
    append_escaped(line, current->id);
    line += ' ';
    append_escaped(line, current->method);
    line += ' ';
    append_escaped(line, current->path);
  }
  line += ": ";
  append_escaped(line, what);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace aiolocals
