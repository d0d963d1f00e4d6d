// SPDX-License-Identifier: BSL-1.0
// What this process does with the trace context a request brings: one case
// per input line, "traceparent<TAB>tracestate" (an empty field: the header
// is absent; several tracestate headers joined by \x1f), and one output
// line per case, "continued|restarted<TAB>outgoing traceparent<TAB>outgoing
// tracestate". Used by otel_compare.mjs to hold our Level 2 behaviour
// against OpenTelemetry's own propagator (tools/interop/README.md).
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/trace/trace_context.hpp"

namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const std::vector<std::string_view> fields = split(line, '\t');
    std::vector<std::string_view> parents, states;
    if (!fields[0].empty()) parents.push_back(fields[0]);
    if (fields.size() > 1 && !fields[1].empty()) states = split(fields[1], '\x1f');
    const aiolocals::trace_context hop = aiolocals::continue_or_start_trace(parents, states);
    const bool continued = hop.parent.is_valid();
    std::cout << (continued ? "continued" : "restarted") << '\t'
              << aiolocals::format_traceparent(hop.trace, hop.span, hop.flags) << '\t'
              << hop.tracestate << '\n';
  }
}
