// SPDX-License-Identifier: BSL-1.0
// The end-to-end benchmark's server: a Beast HTTP/1.1 keep-alive server on
// 127.0.0.1 with two io_context threads; per request one timer resumption
// and one spdlog line, formatted for real into a buffer and discarded.
//   e2e_server --tracked PORT        track_requests + the %Q flag, each
//                                    connection a session (co_spawn_session)
//   e2e_server --tracked-tasks PORT  the same, each connection a plain
//                                    asio::co_spawn (a task per request)
//   e2e_server --bare PORT           the same handler and line, untracked, no
//                                    flags, plain asio::co_spawn
// Prints "ready" once it accepts; runs until killed (SIGTERM/SIGINT).
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "aiolocals/beast.hpp"
#include "aiolocals/spdlog.hpp"
#include "http_session.hpp"

using namespace example;

namespace {

// Formats every line with the logger's formatter, then drops it (spdlog's
// null_sink never formats: BENCHMARKING.md, trap 1).
class formatting_discard_sink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    bytes_ += formatted.size();
  }
  void flush_() override {}

 private:
  std::size_t bytes_ = 0;
};

asio::awaitable<response> handle(request req) {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::steady_clock::now());
  co_await timer.async_wait(asio::use_awaitable);  // one resumption
  spdlog::info("handled");
  response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.body() = "ok\n";
  res.prepare_payload();
  co_return res;
}

}  // namespace

int main(int argc, char** argv) {
  const bool sessions = argc == 3 && std::strcmp(argv[1], "--tracked") == 0;
  const bool tasks = argc == 3 && std::strcmp(argv[1], "--tracked-tasks") == 0;
  const bool tracked = sessions || tasks;
  const bool bare = argc == 3 && std::strcmp(argv[1], "--bare") == 0;
  if (!tracked && !bare) {
    std::fprintf(stderr, "usage: %s --tracked|--tracked-tasks|--bare PORT\n", argv[0]);
    return 2;
  }
  auto logger =
      std::make_shared<spdlog::logger>("e2e", std::make_shared<formatting_discard_sink>());
  spdlog::set_default_logger(logger);
  if (tracked) {
    aiolocals::configure_logging();  // "[time] [logger] [level] [%Q] %v", %Q = %U#%q
  } else {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v");
  }

  asio::io_context io(2);
  tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[2]))});
  auto tracked_handler = aiolocals::track_requests(handle);
  auto bare_handler = [](request req) { return handle(std::move(req)); };
  if (tracked) {
    asio::co_spawn(io,
                   serve(acceptor, tracked_handler, sessions ? spawn_as::session : spawn_as::task),
                   asio::detached);
  } else {
    asio::co_spawn(io, serve(acceptor, bare_handler, spawn_as::task), asio::detached);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::printf("ready\n");
  std::fflush(stdout);
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  return 0;
}
