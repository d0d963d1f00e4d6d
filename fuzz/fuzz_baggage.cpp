// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: the W3C baggage parser and formatter. Input: header
// values separated by '\n'.
// Invariants: no crash; the baggage kept is within the limits (at most 180
// entries, its baggage-string at most 8,192 bytes); the formatted string
// matches the spec's grammar (checked here by a reading of the ABNF of our
// own, independent of the parser), its size is formatted_size(), parsing it
// gives the same baggage back, and formatting that again gives the same
// string; every value is valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/log/json.hpp"
#include "aiolocals/trace/baggage.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos)
      return false;
  }
  return true;
}

bool is_octets(std::string_view text) {
  for (char ch : text)
    if (const auto c = static_cast<unsigned char>(ch); c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  return true;
}

// key "=" value *( ";" property ), property = key [ "=" value ]: the form
// we write (no OWS).
bool is_member(std::string_view member) {
  std::size_t semicolon = member.find(';');
  const std::string_view pair = member.substr(0, semicolon);
  const std::size_t equals = pair.find('=');
  if (equals == std::string_view::npos || !is_token(pair.substr(0, equals)) ||
      !is_octets(pair.substr(equals + 1)))
    return false;
  while (semicolon != std::string_view::npos) {
    member.remove_prefix(semicolon + 1);
    semicolon = member.find(';');
    const std::string_view property = member.substr(0, semicolon);
    const std::size_t eq = property.find('=');
    if (!is_token(property.substr(0, eq))) return false;
    if (eq != std::string_view::npos && !is_octets(property.substr(eq + 1))) return false;
  }
  return true;
}

bool is_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    std::size_t consumed = 0;
    if (aiolocals::detail::utf8_sequence(p, end, &consumed) == 0) return false;
    p += consumed;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> values = fuzz::split_values(input, 16);
  const aiolocals::baggage parsed = aiolocals::parse_baggage(values);
  require(parsed.size() <= aiolocals::max_baggage_members);
  const std::string text = aiolocals::format_baggage(parsed);
  require(text.size() == parsed.formatted_size() && text.size() <= aiolocals::max_baggage_bytes);
  std::size_t members = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t comma = rest.find(',');
    require(is_member(rest.substr(0, comma)));
    ++members;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  require(members == parsed.size());
  for (const aiolocals::baggage_entry& entry : parsed.entries()) require(is_utf8(entry.value));
  const aiolocals::baggage again = aiolocals::parse_baggage(text);
  require(again == parsed);
  require(aiolocals::format_baggage(again) == text);
  // Setting every parsed entry anew through the checked API keeps it.
  aiolocals::baggage rebuilt;
  for (const aiolocals::baggage_entry& entry : parsed.entries())
    rebuilt = rebuilt.with(entry.key, entry.value, entry.properties);
  require(rebuilt == parsed);
  return 0;
}
