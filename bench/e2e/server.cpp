// SPDX-License-Identifier: BSL-1.0
// The end-to-end benchmark's server: a Beast HTTP/1.1 keep-alive server on
// 127.0.0.1 with two io_context threads (E2E_THREADS=n for n); per request
// one timer resumption and one spdlog line, formatted for real into a
// buffer and discarded.
//   e2e_server --tracked PORT        track_requests + the %Q flag, each
//                                    connection started by aiolocals::co_spawn
//   e2e_server --tracked-tasks PORT  the same, each connection a plain
//                                    asio::co_spawn
//   e2e_server --tracked-spans PORT  --tracked with a span sink installed:
//                                    every request's server span recorded
//                                    and formatted as a JSON line, then
//                                    discarded (the sink's write skipped)
//   e2e_server --by-hand PORT        untracked, the id threaded by hand as
//                                    services do without aiolocals: chosen
//                                    by the same rules (choose_request_id),
//                                    written into the line by the format
//                                    string, echoed in the response; what
//                                    the id itself costs, without tracking
//   e2e_server --by-hand-strand PORT the same, each connection on a strand
//                                    of its own (as Beast's examples serve
//                                    them): Asio's own executor adapter on
//                                    every completion, as tracking has
//   e2e_server --bare PORT           the same handler and line, untracked, no
//                                    id, no flags, plain asio::co_spawn
// Prints "ready" once it accepts; runs until killed (SIGTERM/SIGINT).
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/beast.hpp"
#include "aiolocals/spdlog.hpp"
#include "aiolocals/trace/span_record.hpp"
#include "http_session.hpp"

using namespace example;

namespace {

// Formats every line with the logger's formatter, then drops it (spdlog's
// null_sink never formats).
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

const aiolocals::tracking_options& by_hand_options() {
  static const aiolocals::tracking_options options;
  return options;
}

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

// The by-hand server's handler: the same work, with the id in its hands.
asio::awaitable<response> handle_by_hand(request req) {
  const aiolocals::tracking_options& options = by_hand_options();
  const std::string id = aiolocals::choose_request_id(req, options);
  const std::string_view path = aiolocals::path_without_query(req.target());
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::steady_clock::now());
  co_await timer.async_wait(asio::use_awaitable);
  spdlog::info("[{}#{}] handled", path, id);
  response res{http::status::ok, version};
  res.keep_alive(keep_alive);
  res.body() = "ok\n";
  res.prepare_payload();
  res.set(options.header_name, id);
  co_return res;
}

}  // namespace

int main(int argc, char** argv) {
  const bool with_spans = argc == 3 && std::strcmp(argv[1], "--tracked-spans") == 0;
  const bool with_copy =
      with_spans || (argc == 3 && std::strcmp(argv[1], "--tracked") == 0);
  const bool tasks = argc == 3 && std::strcmp(argv[1], "--tracked-tasks") == 0;
  const bool tracked = with_copy || tasks;
  const bool by_hand_strand = argc == 3 && std::strcmp(argv[1], "--by-hand-strand") == 0;
  const bool by_hand = by_hand_strand || (argc == 3 && std::strcmp(argv[1], "--by-hand") == 0);
  const bool bare = argc == 3 && std::strcmp(argv[1], "--bare") == 0;
  const char* threads_setting = std::getenv("E2E_THREADS");
  const int threads = threads_setting != nullptr ? std::atoi(threads_setting) : 2;
  if ((!tracked && !by_hand && !bare) || threads < 1) {
    std::fprintf(stderr,
                 "usage: [E2E_THREADS=n] %s "
                 "--tracked|--tracked-spans|--tracked-tasks|--by-hand|--by-hand-strand|--bare "
                 "PORT\n",
                 argv[0]);
    return 2;
  }
  auto logger =
      std::make_shared<spdlog::logger>("e2e", std::make_shared<formatting_discard_sink>());
  spdlog::set_default_logger(logger);
  if (tracked) {
    aiolocals::configure_logging();  // "[time] [logger] [level] [%Q] %v", %Q = %U#%q
    if (with_spans) {
      aiolocals::add_span_sink(aiolocals::json_lines_span_sink([](std::string_view line) {
        asm volatile("" : : "r"(line.data()) : "memory");  // built, not written
      }));
    }
  } else {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v");
  }

  asio::io_context io(threads);
  tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[2]))});
  auto tracked_handler = aiolocals::track_requests(handle);
  auto bare_handler = [](request req) { return handle(std::move(req)); };
  auto by_hand_handler = [](request req) { return handle_by_hand(std::move(req)); };
  if (tracked) {
    asio::co_spawn(io,
                   serve(acceptor, tracked_handler, with_copy ? spawn_as::copy : spawn_as::task),
                   asio::detached);
  } else if (by_hand) {
    asio::co_spawn(
        io, serve(acceptor, by_hand_handler, by_hand_strand ? spawn_as::strand : spawn_as::task),
        asio::detached);
  } else {
    asio::co_spawn(io, serve(acceptor, bare_handler, spawn_as::task), asio::detached);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<std::thread> others;
  for (int i = 1; i < threads; ++i) others.emplace_back([&] { io.run(); });
  io.run();
  for (std::thread& other : others) other.join();
  return 0;
}
