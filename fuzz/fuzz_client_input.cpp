// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: what the two-service example reads from a client (the
// W3C validation-service body, the numbers in its targets).
// Input: a selector byte, then the bytes.
// Invariants: a body that is not a JSON array gives nothing; otherwise every
// call goes to a non-zero port with a target starting with '/', its URL
// parses again to the same port and target, and its body is valid JSON; a
// number is found only after the prefix, and printing it back gives the
// digits that were there.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "two_services/client_input.hpp"

using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      const auto request = two_services::parse_validation_request(input);
      boost::json::error_code error;
      const boost::json::value document = boost::json::parse(input, error);
      require(request.has_value() == (!error && document.is_array()));
      if (!request) return 0;
      require(request->calls.size() + request->skipped == document.as_array().size());
      for (const auto& call : request->calls) {
        require(call.port != 0 && !call.target.empty() && call.target.front() == '/');
        const auto again = two_services::loopback_url(call.url);
        require(again && again->first == call.port && again->second == call.target);
        boost::json::parse(call.body, error);
        require(!error);
      }
      break;
    }
    case 1: {
      if (const auto where = two_services::loopback_url(input)) {
        require(where->first != 0 && !where->second.empty() && where->second.front() == '/');
      }
      break;
    }
    case 2: {
      if (const auto n = two_services::number_after(input, "/orders/")) {
        require(input.substr(0, 8) == "/orders/");
        const std::string_view digits = aiolocals::path_without_query(input).substr(8);
        require(std::to_string(*n) == digits || (digits.size() > 1 && digits.front() == '0') ||
                digits.front() == '-');
      }
      break;
    }
  }
  return 0;
}
