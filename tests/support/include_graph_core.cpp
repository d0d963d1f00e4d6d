// SPDX-License-Identifier: BSL-1.0
// Compiles only while the core and the framework-neutral layers (http/,
// log/, trace/) need the standard library alone. (Every Boost header defines
// BOOST_CONFIG_HPP or BOOST_VERSION; every spdlog header SPDLOG_API through
// spdlog/common.h; fmt FMT_VERSION.)
#include "aiolocals/context.hpp"
#include "aiolocals/http/request_id.hpp"
#include "aiolocals/request_tracking.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/json.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/trace/trace_context.hpp"
#include "aiolocals/version.hpp"

#if defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP) || defined(SPDLOG_API) || \
    defined(FMT_VERSION)
#error "the aiolocals core and its neutral layers must depend on the standard library only"
#endif
