// SPDX-License-Identifier: BSL-1.0
// A minimal Beast HTTP/1.1 server loop and client call, shared by the demo
// and the end-to-end test (the demo is a test too). Your own connection loop stays yours:
// the aiolocals-specific line is that `handler` is a tracked one
// (aiolocals::track_requests); `serve` starts each connection with
// aiolocals::co_spawn by default, and plain asio::co_spawn works as well.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <string>

#include "aiolocals/beast.hpp"

namespace example {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// Serves one connection: read, call the tracked handler, write, repeat.
// A request Beast cannot parse gets a 400 that still carries a fresh id.
template <class Handler>
asio::awaitable<void> serve_connection(tcp::socket socket, const Handler& handler) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    request req;
    auto [read_error, read_bytes] =
        co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
    if (read_error == http::error::end_of_stream || read_error == asio::error::eof ||
        read_error == asio::error::connection_reset) {
      break;
    }
    if (read_error) {
      response bad{http::status::bad_request, 11};
      bad.set("X-Request-ID", aiolocals::generate_request_id());
      bad.keep_alive(false);
      bad.prepare_payload();
      co_await http::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
      break;
    }
    const bool keep_alive = req.keep_alive();
    response res = co_await handler(std::move(req));
    auto [write_error, written] =
        co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (write_error || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// How `serve` starts each connection's coroutine.
enum class spawn_as {
  copy,     // aiolocals::co_spawn: the connection's loop in a copy of the
            // acceptor's context
  task,     // plain asio::co_spawn: the loop in the thread's root context
  strand,   // plain asio::co_spawn onto a strand of its own, as Beast's
            // examples serve each connection (a baseline for benchmarks)
};

// Accepts until the acceptor is closed; each connection in a coroutine of
// its own (the tracked handler gives each request its own context).
template <class Handler>
asio::awaitable<void> serve(tcp::acceptor& acceptor, const Handler& handler,
                            spawn_as spawn = spawn_as::copy) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    if (spawn == spawn_as::copy) {
      aiolocals::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), handler),
                          asio::detached);
    } else if (spawn == spawn_as::strand) {
      asio::co_spawn(asio::make_strand(acceptor.get_executor()),
                     serve_connection(std::move(socket), handler), asio::detached);
    } else {
      asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), handler),
                     asio::detached);
    }
  }
}

// One GET on an open connection; `request_id` goes in X-Request-ID if set.
inline asio::awaitable<response> get(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     std::string target,
                                     std::optional<std::string> request_id = std::nullopt) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (request_id) req.set("X-Request-ID", *request_id);
  co_await http::async_write(stream, req, asio::use_awaitable);
  response res;
  co_await http::async_read(stream, buffer, res, asio::use_awaitable);
  co_return res;
}

}  // namespace example
