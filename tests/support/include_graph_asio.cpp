// SPDX-License-Identifier: BSL-1.0
// Compiles only while the Asio adapter pulls in neither Beast nor spdlog/fmt
// (every Beast header includes boost/beast/core/detail/config.hpp).
#include "aiolocals/asio.hpp"
#include "aiolocals/asio/awaitable_operators.hpp"

#if defined(BOOST_BEAST_CORE_DETAIL_CONFIG_HPP) || defined(SPDLOG_API) || defined(FMT_VERSION)
#error "aiolocals/asio.hpp must not pull in Beast, spdlog or fmt"
#endif
#if !defined(BOOST_ASIO_ASYNC_RESULT_HPP)
#error "this check must see Asio, or it proves nothing"
#endif
