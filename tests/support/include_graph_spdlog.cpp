// SPDX-License-Identifier: BSL-1.0
// Compiles only while the spdlog adapter pulls in no Boost (no Asio, no
// Beast): a program that logs needs no Boost.
#include "aiolocals/spdlog.hpp"

#if defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP)
#error "aiolocals/spdlog.hpp must not pull in Boost"
#endif
#if !defined(SPDLOG_API)
#error "this check must see spdlog, or it proves nothing"
#endif
