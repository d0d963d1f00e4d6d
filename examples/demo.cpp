// SPDX-License-Identifier: BSL-1.0
// The aiolocals demo service: a Boost.Beast HTTP server on 127.0.0.1 whose
// every log line carries the id and path of the request that wrote it.
//
//   demo              serve on a free port, fire a burst of concurrent
//                     requests at itself (some with their own X-Request-ID,
//                     some without, a few hostile), print the interleaved
//                     log lines, exit 0 when every response checked out
//   demo --serve PORT keep serving; try
//                     curl -i -H 'X-Request-ID: abc' localhost:PORT/slow
//
// Routes: /hello, /slow (a timer and a sub-coroutine that logs), /spawn (a
// background task that logs after the response is sent). A job_context job
// runs every 25 ms.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/spdlog.hpp"
#include "http_session.hpp"  // tests/support: a minimal Beast session loop and client
#include "pause.hpp"

using namespace example;
using namespace std::chrono_literals;

namespace {

asio::awaitable<int> look_up_stock() {
  spdlog::info("sub-coroutine: looking up stock");  // same request id, no id passed
  co_await pause(3ms);
  co_return 42;
}

asio::awaitable<void> send_receipt() {
  co_await pause(5ms);
  spdlog::info("background: receipt sent (after the response went out)");
}

response reply(const request& req, std::string body) {
  response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body) + "\n";
  res.prepare_payload();
  return res;
}

asio::awaitable<response> handle(request req) {
  const auto& current = aiolocals::request.get();
  spdlog::info("handling");
  if (current.path == "/hello") co_return reply(req, "hello, " + current.id);
  if (current.path == "/slow") {
    co_await pause(10ms);
    int stock = co_await look_up_stock();
    spdlog::info("slow: done, stock {}", stock);
    co_return reply(req, "slow " + std::to_string(stock));
  }
  if (current.path == "/spawn") {
    aiolocals::co_spawn(co_await asio::this_coro::executor, send_receipt(), asio::detached);
    co_return reply(req, "spawned");
  }
  spdlog::warn("no such route");
  response res{http::status::not_found, req.version()};
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  co_return res;
}

asio::awaitable<void> refresh_cache() {
  spdlog::info("job: refreshing the cache");
  co_await pause(2ms);
  spdlog::info("job: cache refreshed");
}

asio::awaitable<void> periodic_job(const std::atomic<bool>& stopping) {
  while (!stopping) {
    co_await aiolocals::job_context("cache-refresh", refresh_cache());
    co_await pause(25ms);
  }
}

// --- the self-test burst -------------------------------------------------------

struct burst_result {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
};

asio::awaitable<void> client(tcp::endpoint server, int number, burst_result& result) {
  const char* routes[] = {"/hello", "/slow", "/spawn", "/slow?token=secret"};
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(server, asio::use_awaitable);
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    const std::string route = routes[(number + i) % 4];
    std::optional<std::string> own_id;
    if ((number + i) % 2 == 0)
      own_id = "client-" + std::to_string(number) + "-" + std::to_string(i);
    response res = co_await get(stream, buffer, route, own_id);
    const std::string id(res["X-Request-ID"]);
    const bool good = res.result() == http::status::ok && !id.empty() && (!own_id || id == *own_id);
    ++(good ? result.ok : result.failed);
  }
}

// Bytes no well-behaved client sends; each must get a fresh, safe id.
asio::awaitable<void> hostile_client(tcp::endpoint server, std::string raw, std::string what,
                                     burst_result& result) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(server, asio::use_awaitable);
  co_await asio::async_write(stream, asio::buffer(raw), asio::use_awaitable);
  beast::flat_buffer buffer;
  response res;
  auto [error, bytes] =
      co_await http::async_read(stream, buffer, res, asio::as_tuple(asio::use_awaitable));
  const std::string id(res["X-Request-ID"]);
  const bool safe = !error && aiolocals::is_safe_request_id(id);
  spdlog::info("client: hostile request ({}) answered {} with fresh id {}", what, res.result_int(),
               id);
  ++(safe ? result.ok : result.failed);
}

// Runs on the same strand as the accept loop, so closing the acceptor and
// the bookkeeping below never race; the clients themselves run on `io`.
asio::awaitable<void> burst(asio::io_context& io, tcp::acceptor& acceptor,
                            std::atomic<bool>& stopping, burst_result& result) {
  const tcp::endpoint server = acceptor.local_endpoint();
  const std::string long_id(4096, 'A');
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: " + long_id + "\r\n\r\n", "4 KB id"},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: caf\xc3\xa9\r\n\r\n", "non-ASCII id"},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rINFO forged\r\n\r\n", "CR in id"},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\nX-Request-ID: two\r\n\r\n",
       "two ids"},
      {"GET /h\x1b[31mi\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", "control bytes in path"},
  };
  auto strand = co_await asio::this_coro::executor;
  int running = 0;  // touched on the strand only
  asio::steady_timer all_done(strand, std::chrono::steady_clock::time_point::max());
  auto track = [&](asio::awaitable<void> task) {
    ++running;
    asio::co_spawn(io, std::move(task), asio::bind_executor(strand, [&](std::exception_ptr error) {
                     if (error) ++result.failed;
                     if (--running == 0) all_done.cancel();
                   }));
  };
  for (int number = 0; number < 8; ++number) track(client(server, number, result));
  for (const auto& [raw, what] : hostile) track(hostile_client(server, raw, what, result));
  co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: all done
  stopping = true;  // the job ends after its current pause
  acceptor.close();
}

}  // namespace

int main(int argc, char** argv) {
  const bool serve_forever = argc == 3 && std::string(argv[1]) == "--serve";
  if (argc != 1 && !serve_forever) {
    std::fprintf(stderr, "usage: %s [--serve PORT]\n", argv[0]);
    return 2;
  }
  aiolocals::configure_logging("[%H:%M:%S.%e] [thread %t] [%^%l%$] [%W %U#%q] %v");

  asio::io_context io(2);
  const unsigned short port = serve_forever ? static_cast<unsigned short>(std::atoi(argv[2])) : 0;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  auto tracked = aiolocals::track_requests(handle);
  auto control = asio::make_strand(io);  // the accept loop and the burst
  asio::co_spawn(control, serve(acceptor, tracked), asio::detached);

  std::atomic<bool> stopping{false};
  asio::co_spawn(io, periodic_job(stopping), asio::detached);

  burst_result result;
  // Lives as long as io.run(): a signal_set destroyed early aborts its wait,
  // and the handler would stop the server at once.
  asio::signal_set signals(io);
  if (serve_forever) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;  // aborted: not a signal
      spdlog::info("signal {}: stopping", signal);
      stopping = true;
      io.stop();
    });
    spdlog::info("serving on http://127.0.0.1:{} (Ctrl-C stops)", acceptor.local_endpoint().port());
    spdlog::default_logger()->flush();
  } else {
    spdlog::info("demo server on 127.0.0.1:{}; firing a burst of requests at it",
                 acceptor.local_endpoint().port());
    asio::co_spawn(control, burst(io, acceptor, stopping, result), asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  if (serve_forever) return 0;
  spdlog::info("burst done: {} responses checked out, {} did not", result.ok.load(),
               result.failed.load());
  return result.failed == 0 && result.ok == 8 * 3 + 5 ? 0 : 1;
}
