// SPDX-License-Identifier: BSL-1.0
// aiolocals/beast.hpp - umbrella header for the Boost.Beast integration:
// request tracking (aiolocals/beast/track_requests.hpp) on top of the
// framework-neutral request-id rules (aiolocals/http/request_id.hpp) and the
// Asio adapter. Target `aiolocals::beast`.
#pragma once

#include "aiolocals/asio.hpp"
#include "aiolocals/beast/track_requests.hpp"
#include "aiolocals/http/request_id.hpp"
