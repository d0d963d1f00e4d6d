// SPDX-License-Identifier: BSL-1.0
// aiolocals/spdlog.hpp - umbrella header for the spdlog integration: the
// %q %U %W %J %K flags and configure_logging (aiolocals/spdlog/flags.hpp),
// JSON lines (aiolocals/spdlog/json_formatter.hpp) and the context-carrying
// async logger (aiolocals/spdlog/async_logger.hpp). Target
// `aiolocals::spdlog`.
#pragma once

#include "aiolocals/spdlog/async_logger.hpp"
#include "aiolocals/spdlog/flags.hpp"
#include "aiolocals/spdlog/json_formatter.hpp"
