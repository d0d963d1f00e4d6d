// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: escaping a request's path and method for a log line,
// and cutting the query off a request target.
// Invariants: the output holds printable ASCII only, never a raw control
// byte; it decodes back to exactly the input; the path is a prefix of the
// target and holds no '?' or '#'.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aiolocals/http/request_id.hpp"
#include "aiolocals/log/escape.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string escaped;
  aiolocals::append_escaped(escaped, input);

  std::string decoded;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const auto byte = static_cast<unsigned char>(escaped[i]);
    require(byte >= 0x20 && byte < 0x7f);
    if (escaped[i] != '\\') {
      decoded.push_back(escaped[i]);
      continue;
    }
    require(i + 3 < escaped.size() && escaped[i + 1] == 'x');  // a whole \xNN
    const int high = hex_value(escaped[i + 2]), low = hex_value(escaped[i + 3]);
    require(high >= 0 && low >= 0);
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 3;
  }
  require(decoded == input);

  const std::string_view path = aiolocals::path_without_query(input);
  require(input.substr(0, path.size()) == path);
  require(path.find_first_of("?#") == std::string_view::npos);
  return 0;
}
