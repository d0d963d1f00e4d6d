// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: the traceparent and tracestate parsers. Input: a
// selector byte, then header values separated by '\n'.
// Invariants: no crash; a parsed traceparent has valid (non-zero) ids and
// formats back to a valid 55-character version-00 value with the same
// ids and only the known flag bits; the tracestate kept is at most 512
// characters of printable ASCII with at most 32 members, and validating it
// again gives it back unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/trace/trace_context.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<std::string_view> values = fuzz::split_values(input, 40);

  if (data[0] & 1) {
    const auto parent = aiolocals::parse_traceparent(values);
    if (parent) {
      require(values.size() == 1);
      require(parent->trace.is_valid() && parent->parent.is_valid());
      const std::string sent =
          aiolocals::format_traceparent(parent->trace, parent->parent, parent->flags);
      require(sent.size() == 55 && sent.compare(0, 3, "00-") == 0);
      const auto again = aiolocals::parse_traceparent(sent);
      require(again && again->trace == parent->trace && again->parent == parent->parent &&
              again->flags == (parent->flags & aiolocals::known_trace_flags));
      if (parent->version == 0 && (parent->flags & ~aiolocals::known_trace_flags) == 0)
        require(sent == values.front());
    }
  } else {
    const std::string state = aiolocals::validate_tracestate(values);
    require(state.size() <= 512);
    std::size_t members = state.empty() ? 0 : 1;
    for (char c : state) {
      require(c >= 0x20 && c <= 0x7e);
      members += c == ',';
    }
    require(members <= 32);
    // Always a valid tracestate: validating it again gives it back whole.
    const std::vector<std::string_view> once{state};
    require(aiolocals::validate_tracestate(once) == state);
  }
  return 0;
}
