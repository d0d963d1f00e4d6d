// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: JSON log lines. The fuzzed bytes are the message and
// the request's path and method (split at '\n'), escaped alone by
// append_json_escaped and formatted into a whole line by json_formatter.
// Invariants: the line is one JSON object on one line that a strict parser
// (Boost.JSON) accepts, with no raw control byte; each field reads back as
// its input when the input is valid UTF-8 (bytes < 0x80 always), and
// escaping what was read back gives the same text again (replacement is
// final); an escaped field is at most 6 bytes per input byte.
#include <spdlog/logger.h>

#include <boost/json/src.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "aiolocals/context.hpp"
#include "aiolocals/log/json.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/spdlog/json_formatter.hpp"
#include "capture_sink.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The string `key` of `object` must be `input` escaped and read back.
void check_field(const boost::json::object& object, std::string_view key, std::string_view input) {
  const boost::json::value* value = object.if_contains(key);
  require(value != nullptr && value->is_string());
  const std::string_view back = value->as_string();
  if (is_ascii(input)) require(back == input);
  std::string again, first;
  aiolocals::append_json_escaped(first, input);
  aiolocals::append_json_escaped(again, back);
  require(again == first);
  require(first.size() <= 6 * input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto sink = std::make_shared<capture_sink>();
  static spdlog::logger logger = [] {
    spdlog::logger made("fuzz", sink);
    made.set_formatter(aiolocals::make_json_formatter());
    return made;
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = fuzz::split_values(input, 3);

  aiolocals::scope fresh;
  if (parts.size() > 1) {
    aiolocals::request_info info{"id", std::string(parts[1]), parts.size() > 2 ? std::string(parts[2]) : "",
                                 aiolocals::request_kind::request};
    aiolocals::request.set(std::move(info));
  }
  logger.info(parts[0]);
  const auto lines = sink->take_lines();
  require(lines.size() == 1);
  const std::string& line = lines[0];
  require(!line.empty() && line.back() == '\n');
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    require(byte >= 0x20 && byte != 0x7f);
  }
  boost::json::error_code error;
  const boost::json::value value =
      boost::json::parse(std::string_view(line).substr(0, line.size() - 1), error);
  require(!error && value.is_object());
  const auto& object = value.as_object();
  check_field(object, "message", parts[0]);
  if (parts.size() > 1) check_field(object, "method", parts[1]);
  if (parts.size() > 2) check_field(object, "path", parts[2]);
  return 0;
}
