// SPDX-License-Identifier: BSL-1.0
// aiolocals/spdlog.hpp - umbrella header for the spdlog integration: the
// %q %U %W %J %K %Q %k flags and configure_logging (aiolocals/spdlog/flags.hpp),
// the log fields %k and JSON lines print (aiolocals/log/fields.hpp),
// JSON lines (aiolocals/spdlog/json_formatter.hpp) and the context-carrying
// async logger (aiolocals/spdlog/async_logger.hpp). Target
// `aiolocals::spdlog`.
#pragma once

#include "aiolocals/log/fields.hpp"
#include "aiolocals/spdlog/async_logger.hpp"
#include "aiolocals/spdlog/flags.hpp"
#include "aiolocals/spdlog/json_formatter.hpp"
