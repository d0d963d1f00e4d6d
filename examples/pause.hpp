// SPDX-License-Identifier: BSL-1.0
// A timer wait as an awaitable, shared by the examples.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace example {

/// Waits `delay` on the current coroutine's executor (any thread may resume).
inline boost::asio::awaitable<void> pause(std::chrono::milliseconds delay) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace example
