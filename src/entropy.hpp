// SPDX-License-Identifier: BSL-1.0
// Random bytes for ids (request ids, trace and span ids): the OS CSPRNG,
// buffered per thread. Internal to the library.
#pragma once

#include <cstddef>

namespace aiolocals::detail {

/// Fills `out` with `count` (at most 4096) unpredictable bytes. Thread-safe.
void random_bytes(unsigned char* out, std::size_t count);

}  // namespace aiolocals::detail
