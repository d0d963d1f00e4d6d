// SPDX-License-Identifier: BSL-1.0
// For tools/interop/otel_baggage.mjs: reads one `baggage` header value per
// line on stdin and prints, per line, one JSON object: the entries
// parse_baggage keeps ([key, value, properties], in order) and the header
// format_baggage sends.
#include <iostream>
#include <string>

#include "aiolocals/log/json.hpp"
#include "aiolocals/trace/baggage.hpp"

namespace {
std::string quoted(std::string_view text) {
  std::string out = "\"";
  aiolocals::append_json_escaped(out, text);
  return out + "\"";
}
}  // namespace

int main() {
  for (std::string line; std::getline(std::cin, line);) {
    const aiolocals::baggage parsed = aiolocals::parse_baggage(line);
    std::string out = "{\"entries\":[";
    bool first = true;
    for (const aiolocals::baggage_entry& entry : parsed.entries()) {
      out += (first ? "[" : ",[") + quoted(entry.key) + "," + quoted(entry.value) + "," +
             quoted(entry.properties) + "]";
      first = false;
    }
    out += "],\"sent\":" + quoted(aiolocals::format_baggage(parsed)) + "}\n";
    std::cout << out;
  }
}
