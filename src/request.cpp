// SPDX-License-Identifier: BSL-1.0
#include "aiolocals/request.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>

#include "aiolocals/detail/hex.hpp"

namespace aiolocals {

local<request_info> request{"aiolocals::request"};

namespace {

std::uint64_t process_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

std::string make_job_id(std::string_view name) {
  static const std::uint64_t seed = process_seed();
  static std::atomic<std::uint64_t> counter{0};
  // A bijection of the counter: distinct runs get distinct ids, and
  // consecutive ids do not look consecutive.
  const std::uint64_t value =
      detail::mix64(seed + counter.fetch_add(1, std::memory_order_relaxed));
  std::string id(name.size() + 17, '-');
  std::copy(name.begin(), name.end(), id.begin());
  detail::write_hex(value, id.data() + name.size() + 1);
  return id;
}

request_info make_job_record(std::string_view name) {
  return request_info{make_job_id(name), {}, std::string(name), request_kind::job, start_trace()};
}

}  // namespace aiolocals
