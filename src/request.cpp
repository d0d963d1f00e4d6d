// SPDX-License-Identifier: BSL-1.0
#include "aiolocals/request.hpp"

#include <atomic>
#include <cstdint>
#include <random>

namespace aiolocals {

local<request_info> request{"aiolocals::request"};

namespace {

// splitmix64's finaliser: a bijection on 64-bit values, so distinct counter
// values give distinct ids, and consecutive ids do not look consecutive.
std::uint64_t mix(std::uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t process_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

std::string make_job_id(std::string_view name) {
  static const std::uint64_t seed = process_seed();
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t value = mix(seed + counter.fetch_add(1, std::memory_order_relaxed));
  std::string id;
  id.reserve(name.size() + 17);
  id.append(name);
  id.push_back('-');
  for (int shift = 60; shift >= 0; shift -= 4)
    id.push_back(detail::hex_digits[(value >> shift) & 0xf]);
  return id;
}

request_info make_job_record(std::string_view name) {
  return request_info{make_job_id(name), {}, std::string(name), request_kind::job, start_trace()};
}

}  // namespace aiolocals
