// SPDX-License-Identifier: BSL-1.0
// What the library's own diagnostics on stderr share. Not installed.
#pragma once

#include <exception>
#include <string>

namespace aiolocals::detail {

// What an exception says: what() for a std::exception, else a fixed text.
std::string what_of(const std::exception_ptr& error);

}  // namespace aiolocals::detail
