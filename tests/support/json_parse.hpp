// SPDX-License-Identifier: BSL-1.0
// A JSON parser that is not ours (Boost.JSON, strict: invalid UTF-8 and
// raw control characters are errors), for tests that parse our output back.
// Link aiolocals_test_json, which compiles Boost.JSON once.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

namespace aiolocals::testing {

// The value `text` holds, or nothing if it is not exactly one JSON value.
inline std::optional<boost::json::value> parse_json(std::string_view text) {
  boost::json::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  if (error) return std::nullopt;
  return value;
}

}  // namespace aiolocals::testing
