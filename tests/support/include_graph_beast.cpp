// SPDX-License-Identifier: BSL-1.0
// Compiles only while the Beast adapter pulls in no spdlog/fmt.
#include "aiolocals/beast.hpp"

#if defined(SPDLOG_API) || defined(FMT_VERSION)
#error "aiolocals/beast.hpp must not pull in spdlog or fmt"
#endif
#if !defined(BOOST_BEAST_CORE_DETAIL_CONFIG_HPP)
#error "this check must see Beast, or it proves nothing"
#endif
