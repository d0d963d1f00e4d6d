// SPDX-License-Identifier: BSL-1.0
// Random bytes for ids (request ids, trace and span ids): a per-thread
// ChaCha20 keystream keyed from the OS CSPRNG. Internal to the library.
#pragma once

#include <cstddef>

namespace aiolocals::detail {

/// Fills `out` with `count` unpredictable bytes. Thread-safe. Cost: a copy
/// out of a per-thread buffer; every 992 bytes a refill (16 ChaCha20
/// blocks); every 256 refills, and first in a thread or a forked child, one
/// getrandom() of 32 bytes.
void random_bytes(unsigned char* out, std::size_t count);

}  // namespace aiolocals::detail
