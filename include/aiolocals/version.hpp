// SPDX-License-Identifier: BSL-1.0
// aiolocals/version.hpp - the version of the aiolocals headers in use.
// Checked against the CMake project version at configure time.
#pragma once

#define AIOLOCALS_VERSION_MAJOR 0
#define AIOLOCALS_VERSION_MINOR 7
#define AIOLOCALS_VERSION_PATCH 0
/// MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons.
#define AIOLOCALS_VERSION \
  (AIOLOCALS_VERSION_MAJOR * 10000 + AIOLOCALS_VERSION_MINOR * 100 + AIOLOCALS_VERSION_PATCH)
