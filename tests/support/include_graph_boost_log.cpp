// SPDX-License-Identifier: BSL-1.0
// Compiles only while the Boost.Log adapter pulls in no Asio, Beast or
// spdlog: a program that logs with Boost.Log needs none of them.
#include "aiolocals/boost_log.hpp"

#if defined(BOOST_ASIO_VERSION) || defined(BOOST_BEAST_VERSION)
#error "aiolocals/boost_log.hpp must not pull in Asio or Beast"
#endif
#if defined(SPDLOG_API) || defined(SPDLOG_VERSION)
#error "aiolocals/boost_log.hpp must not pull in spdlog"
#endif
#if !defined(BOOST_LOG_VERSION) && !defined(BOOST_LOG_API)
#error "this check must see Boost.Log, or it proves nothing"
#endif
