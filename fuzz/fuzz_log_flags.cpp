// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: the %q %U %W flags formatting a request record made of
// fuzzed bytes, with and without padding, sync and through the backtrace
// path. Input: a selector byte, then id, method and path separated by '\n'.
// Invariants: every byte of a line but its final '\n' is printable ASCII;
// an unpadded field reads back (unescaped) as the record's bytes.
#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/spdlog.hpp"
#include "capture_sink.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

constexpr const char* patterns[] = {"%q|%U|%W", "%-40q|%8U|%=9W", "%3!q|%5!U|%1!W", "[%U#%q] %v"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static auto sink = std::make_shared<capture_sink>();
  static spdlog::logger logger("fuzz", sink);
  const std::size_t which = data[0] % std::size(patterns);
  logger.set_formatter(aiolocals::make_formatter(patterns[which]));

  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t first = input.find('\n');
  const std::size_t second = first == std::string_view::npos ? first : input.find('\n', first + 1);
  aiolocals::request_info info;
  info.id = std::string(input.substr(0, first));
  if (first != std::string_view::npos) {
    info.method = std::string(
        input.substr(first + 1, second == std::string_view::npos ? second : second - first - 1));
  }
  if (second != std::string_view::npos) info.path = std::string(input.substr(second + 1));

  aiolocals::scope fresh;
  aiolocals::request.set(info);
  logger.info("m");
  const std::vector<std::string> lines = sink->take_lines();
  require(lines.size() == 1);
  const std::string& line = lines.front();
  require(!line.empty() && line.back() == '\n');
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    require(byte >= 0x20 && byte < 0x7f);
  }
  if (which == 0) {
    std::string expected;
    auto field = [&](const std::string& text) {
      if (text.empty()) {
        expected += '-';
      } else {
        aiolocals::append_escaped(expected, text);
      }
    };
    field(info.id);
    expected += '|';
    field(info.path);
    expected += '|';
    field(info.method);
    expected += '\n';
    require(line == expected);
  }
  return 0;
}
