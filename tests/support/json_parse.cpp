// SPDX-License-Identifier: BSL-1.0
// Boost.JSON, header-only, compiled once for the tests that parse JSON.
#include <boost/json/src.hpp>
