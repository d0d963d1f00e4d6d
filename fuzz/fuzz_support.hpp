// SPDX-License-Identifier: BSL-1.0
// What the fuzz targets share: an invariant check that libFuzzer reports as
// a crash, and splitting an input into header values.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace fuzz {

/// Aborts (a finding) when an asserted invariant does not hold.
inline void require(bool condition) {
  if (!condition) std::abort();
}

/// `input` split at '\n' into at most `most` values (the last keeps the rest).
inline std::vector<std::string_view> split_values(std::string_view input, std::size_t most) {
  std::vector<std::string_view> values;
  for (std::size_t start = 0;;) {
    const std::size_t end =
        values.size() + 1 == most ? std::string_view::npos : input.find('\n', start);
    values.push_back(input.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return values;
    start = end + 1;
  }
}

}  // namespace fuzz
