// SPDX-License-Identifier: BSL-1.0
// What the compiled parts of the spdlog integration share. Not installed.
#pragma once

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <memory>

namespace aiolocals::detail {

// Whether a formatter may read the current context for `msg` (it is
// formatted where it was logged, or inside its snapshot on our worker);
// when not, says why once through the logger's error handler.
bool context_is_the_lines(const ::spdlog::details::log_msg& msg);

// configure_logging's work for any formatter: refuses plain async loggers
// (configuration_error, nothing changed), else gives every logger a clone.
void set_formatter_everywhere(std::unique_ptr<::spdlog::formatter> formatter);

}  // namespace aiolocals::detail
