// SPDX-License-Identifier: BSL-1.0
// Two services and a driver: one request id and one W3C trace in every log
// line of both services. Run it all with examples/two_services/run.sh.
//
//   two_services serve NAME PORT_FILE [DOWNSTREAM_PORT]
//       A Beast service on 127.0.0.1 (a free port, written to PORT_FILE)
//       logging JSON lines to stdout. With DOWNSTREAM_PORT (service A) it
//       calls that service for every order; without (service B) it answers.
//         GET /orders/N     A: calls B's /inventory/N, answers with both
//         GET /inventory/N  B: answers "in stock"
//         POST /test        the W3C Trace Context validation-service
//                           protocol: the body is a JSON array of
//                           {"url", "arguments"}; for each element, POST
//                           `arguments` (as JSON) to `url` with the
//                           propagated headers. Only http:// URLs on
//                           127.0.0.1 or localhost are called (a test
//                           endpoint, not an open proxy).
//   two_services drive A_PORT B_PORT REQUESTS
//       Sends REQUESTS requests to A, 16 at a time: some plain, some with
//       an id and a traceparent, some hostile (bad ids, bad or duplicated
//       traceparents, odd paths), some through the validation protocol;
//       prints one JSON line per request: what it sent, what came back.
//
// The only aiolocals lines: configure the JSON logger, wrap the handler in
// track_requests (A drops clients' baggage, B logs the baggage entry
// `order`), set the baggage in A, and call `aiolocals::propagate(req)` in
// the one client helper every outgoing call goes through.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/beast.hpp"
#include "aiolocals/spdlog.hpp"
#include "http_session.hpp"
#include "two_services/client_input.hpp"

namespace {

using namespace example;
namespace json = boost::json;

// The client helper of a service: every outgoing call goes through it, so
// every call carries the current request's id and trace.
asio::awaitable<response> call(tcp::endpoint to, request req) {
  req.set(http::field::host, to.address().to_string());
  auto call_span = aiolocals::propagate(req);  // this call's own client span
  req.keep_alive(false);
  req.prepare_payload();
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(std::chrono::seconds(5));  // a callee that hangs fails the call
  co_await stream.async_connect(to, asio::use_awaitable);
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  response res;
  co_await http::async_read(stream, buffer, res, asio::use_awaitable);
  call_span.end(res.result_int());
  co_return res;
}

response reply(const request& req, http::status status, std::string body) {
  response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// POST /test: the W3C validation-service protocol (see the file comment).
asio::awaitable<response> validation_service(const request& req) {
  const auto parsed = two_services::parse_validation_request(req.body());
  if (!parsed) {
    spdlog::warn("validation request refused: the body is not a JSON array");
    co_return reply(req, http::status::bad_request, "expected a JSON array\n");
  }
  if (parsed->skipped != 0) {
    spdlog::warn("{} validation elements skipped: each needs an http://127.0.0.1 url and arguments",
                 parsed->skipped);
  }
  for (const auto& spec : parsed->calls) {
    request next{http::verb::post, spec.target, 11};
    next.set(http::field::content_type, "application/json");
    next.body() = spec.body;
    spdlog::info("validation call to {}", spec.url);
    try {
      response res = co_await call(tcp::endpoint(asio::ip::address_v4::loopback(), spec.port),
                                   std::move(next));
      spdlog::info("validation call answered {}", res.result_int());
    } catch (const std::exception& e) {
      spdlog::warn("validation call failed: {}", e.what());  // the next element still runs
    }
  }
  co_return reply(req, http::status::ok, "");
}

struct service {
  std::optional<tcp::endpoint> downstream;  // set for service A

  asio::awaitable<response> operator()(request req) const {
    spdlog::info("received {} {}", std::string_view(req.method_string()),
                 std::string_view(req.target()));
    if (req.method() == http::verb::post && aiolocals::path_without_query(req.target()) == "/test") {
      co_return co_await validation_service(req);
    }
    if (auto order = two_services::number_after(req.target(), "/orders/"); order && downstream) {
      // W3C baggage for every later call: B logs `order` (its allowlist),
      // never `cart`.
      aiolocals::set_baggage("order", std::to_string(*order));
      aiolocals::set_baggage("cart", "not for logs");
      // Two calls to B, each with a client span of its own.
      response price = co_await call(
          *downstream, request{http::verb::get, "/prices/" + std::to_string(*order), 11});
      response stock = co_await call(
          *downstream, request{http::verb::get, "/inventory/" + std::to_string(*order), 11});
      spdlog::info("price answered {}, inventory answered {}: {}", price.result_int(),
                   stock.result_int(), stock.body());
      co_return reply(req, http::status::ok,
                      "order " + std::to_string(*order) + ": " + stock.body() + ", " + price.body());
    }
    if (auto item = two_services::number_after(req.target(), "/inventory/"); item && !downstream) {
      asio::steady_timer lookup(co_await asio::this_coro::executor, std::chrono::microseconds(50));
      co_await lookup.async_wait(asio::use_awaitable);  // a resumption, as a real lookup has
      spdlog::info("item {} in stock", *item);
      co_return reply(req, http::status::ok, "in stock");
    }
    if (auto item = two_services::number_after(req.target(), "/prices/"); item && !downstream) {
      spdlog::info("price of item {}", *item);
      co_return reply(req, http::status::ok, "price 42");
    }
    spdlog::warn("no such resource");
    co_return reply(req, http::status::not_found, "not found\n");
  }
};

int serve_main(const std::string& name, const std::string& port_file,
               std::optional<unsigned short> downstream) {
  auto logger = aiolocals::make_async_logger(name, {std::make_shared<spdlog::sinks::stdout_sink_mt>()});
  logger->set_formatter(aiolocals::make_json_formatter());
  spdlog::set_default_logger(logger);
  // Every span (the server span of each request, the client span of each
  // call) as one JSON line beside the log lines.
  aiolocals::add_span_sink(aiolocals::json_lines_span_sink(stdout));

  asio::io_context io(2);
  tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  service handler;
  if (downstream) handler.downstream = tcp::endpoint(asio::ip::address_v4::loopback(), *downstream);
  aiolocals::tracking_options options;
  if (downstream) {
    options.trust_incoming_baggage = false;  // A faces clients: their baggage is dropped
  } else {
    options.baggage_log_fields = {"order"};  // B logs this one baggage entry
  }
  const auto tracked = aiolocals::track_requests(handler, options);
  asio::co_spawn(io, serve(acceptor, tracked), asio::detached);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](auto, int) {
    acceptor.close();
    io.stop();
  });
  {
    std::ofstream(port_file + ".tmp") << acceptor.local_endpoint().port() << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());  // appears whole
  }
  spdlog::info("{} listening on 127.0.0.1:{}", name, acceptor.local_endpoint().port());
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  logger->wait_until_written();
  return 0;
}

// What the driver sends for request `n`, and the JSON line it prints.
struct planned {
  std::string kind;
  request req;
  json::object record;
};

std::string hex_of(std::uint64_t value, int digits) {
  std::string text(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0 && value != 0; --i, value >>= 4) {
    text[static_cast<std::size_t>(i)] = "0123456789abcdef"[value & 0xf];
  }
  return text;
}

planned plan(int n, unsigned short b_port) {
  planned p;
  p.req = request{http::verb::get, "/orders/" + std::to_string(n), 11};
  p.req.set(http::field::host, "127.0.0.1");
  json::value sent_id = nullptr, sent_trace = nullptr;
  const std::string trace = hex_of(0x5eed0000u + static_cast<unsigned>(n), 32);
  const std::string traceparent = "00-" + trace + "-" + hex_of(0xabcdef00u + static_cast<unsigned>(n), 16) + "-01";
  switch (n % 5) {
    case 0:
      p.kind = "plain";
      break;
    case 1:
      p.kind = "id-and-trace";
      sent_id = "drv-" + std::to_string(n);
      sent_trace = trace;
      p.req.set("X-Request-ID", "drv-" + std::to_string(n));
      p.req.set("traceparent", traceparent);
      p.req.set("tracestate", "drv=n" + std::to_string(n) + ",other=1");
      break;
    case 2: {
      p.kind = "hostile";
      const std::string bad_ids[] = {"evil id " + std::to_string(n),
                                     "{\"request_id\":\"forged\"}",
                                     std::string(300, 'x'), "drv-" + std::to_string(n) + "\"}"};
      const std::string bad_parents[] = {
          "00-" + hex_of(0, 32) + "-00f067aa0ba902b7-01",           // all-zero trace id
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // uppercase
          "ff-" + trace + "-00f067aa0ba902b7-01",                   // version ff
          traceparent + "-trailing"};                                 // version 00 + data
      p.req.set("X-Request-ID", bad_ids[(n / 5) % 4]);
      p.req.set("traceparent", bad_parents[(n / 5) % 4]);
      if ((n / 5) % 3 == 0) p.req.insert("traceparent", traceparent);  // a duplicate
      p.req.set("baggage", "order=forged,cart=forged");  // A is the edge: dropped
      p.req.target("/orders/" + std::to_string(n) + "?q=%22%7D%0A&x=\\\"");
      break;
    }
    case 3:
      p.kind = "id-only";
      sent_id = "drv-" + std::to_string(n);
      p.req.set("X-Request-ID", "drv-" + std::to_string(n));
      break;
    case 4:
      p.kind = "validation";
      sent_trace = trace;
      p.req.method(http::verb::post);
      p.req.target("/test");
      p.req.set("traceparent", traceparent);
      p.req.set(http::field::content_type, "application/json");
      p.req.body() = json::serialize(json::array{json::object{
          {"url", "http://127.0.0.1:" + std::to_string(b_port) + "/test"},
          {"arguments", json::array{}}}});
      break;
  }
  p.req.prepare_payload();
  p.record = {{"n", n}, {"kind", p.kind}, {"sent_id", sent_id}, {"sent_trace", sent_trace}};
  return p;
}

int drive_main(unsigned short a_port, unsigned short b_port, int requests) {
  asio::io_context io;
  const tcp::endpoint a(asio::ip::address_v4::loopback(), a_port);
  int next = 0, failed = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(io);
    co_await stream.async_connect(a, asio::use_awaitable);
    beast::flat_buffer buffer;
    while (next < requests) {
      planned p = plan(next++, b_port);
      co_await http::async_write(stream, p.req, asio::use_awaitable);
      response res;
      co_await http::async_read(stream, buffer, res, asio::use_awaitable);
      p.record["status"] = res.result_int();
      p.record["response_id"] = std::string_view(res["X-Request-ID"]);
      if (res.result() != http::status::ok) ++failed;
      std::cout << json::serialize(p.record) << "\n";
    }
  };
  for (int i = 0; i < 16; ++i) {
    asio::co_spawn(io, worker(), [&](std::exception_ptr e) {
      if (e) ++failed;
    });
  }
  io.run();
  std::cout.flush();
  if (failed != 0) std::fprintf(stderr, "driver: %d requests failed\n", failed);
  return failed == 0 ? 0 : 1;
}

unsigned short port_argument(const char* text) {
  return static_cast<unsigned short>(std::stoul(text));
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if ((args.size() == 3 || args.size() == 4) && args[0] == "serve") {
      std::optional<unsigned short> downstream;
      if (args.size() == 4) downstream = port_argument(argv[4]);
      return serve_main(args[1], args[2], downstream);
    }
    if (args.size() == 4 && args[0] == "drive") {
      return drive_main(port_argument(argv[2]), port_argument(argv[3]), std::stoi(args[3]));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "two_services: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: %s serve NAME PORT_FILE [DOWNSTREAM_PORT] | drive A_PORT B_PORT REQUESTS\n",
               argv[0]);
  return 2;
}
