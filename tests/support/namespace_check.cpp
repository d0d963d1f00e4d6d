// SPDX-License-Identifier: BSL-1.0
// Compiles only while `using namespace aiolocals;` leaves the names users
// write next to it unambiguous: no aiolocals sub-namespace may be called
// asio, beast, http or spdlog (README "Headers and names").
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/string_body.hpp>

#include "aiolocals/asio.hpp"
#include "aiolocals/beast.hpp"
#include "aiolocals/spdlog.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace aiolocals;

void names_stay_unambiguous(asio::io_context& io) {
  asio::post(io, [] { spdlog::info("no ambiguity"); });
  http::request<http::string_body> req{http::verb::get, "/", 11};
  (void)beast::http::to_string(req.method());
  configure_logging();
  (void)track_requests(
      [](http::request<http::string_body>) -> asio::awaitable<http::response<http::string_body>> {
        co_return http::response<http::string_body>{};
      });
}
