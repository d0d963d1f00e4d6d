// SPDX-License-Identifier: BSL-1.0
#include <aiolocals/asio.hpp>
#include <boost/asio/io_context.hpp>

aiolocals::local<int> value{"value"};

boost::asio::awaitable<void> task(bool& ok) {
  co_await boost::asio::post(boost::asio::use_awaitable);
  ok = value.get() == 7;
}

int main() {
  boost::asio::io_context io;
  value.set(7);
  bool ok = false;
  aiolocals::co_spawn(io, task(ok), boost::asio::detached);
  io.run();
  return ok ? 0 : 1;
}
