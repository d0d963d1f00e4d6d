// SPDX-License-Identifier: BSL-1.0
#include <spdlog/spdlog.h>

#include <aiolocals/beast.hpp>
#include <aiolocals/spdlog.hpp>

int main() {
  aiolocals::configure_logging();
  aiolocals::scope scope;
  aiolocals::request.set(
      {aiolocals::generate_request_id(), "GET", "/installed", aiolocals::request_kind::request});
  spdlog::info("logged with the request id from an installed aiolocals");
  return aiolocals::is_safe_request_id(aiolocals::request.get().id) ? 0 : 1;
}
