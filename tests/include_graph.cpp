// SPDX-License-Identifier: BSL-1.0
// Compiles only while the include graph stays layered: the core pulls in no
// Boost and no spdlog, and asio.hpp pulls in neither Beast nor spdlog/fmt.
// (Every Beast header includes boost/beast/core/detail/config.hpp; every
// spdlog header defines SPDLOG_VERSION through spdlog/common.h.)
#include "aiolocals/context.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/request.hpp"

#if defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP) || defined(SPDLOG_VERSION) || \
    defined(FMT_VERSION)
#error "the aiolocals core must depend on the standard library only"
#endif

#include "aiolocals/asio.hpp"

#if defined(BOOST_BEAST_CORE_DETAIL_CONFIG_HPP) || defined(SPDLOG_VERSION) || defined(FMT_VERSION)
#error "aiolocals/asio.hpp must not pull in Beast, spdlog or fmt"
#endif

#if !defined(BOOST_ASIO_ASYNC_RESULT_HPP)
#error "this check must see Asio, or it proves nothing"
#endif
