// SPDX-License-Identifier: BSL-1.0
// W3C Baggage: the header's grammar, percent-coding, the limits, and the
// local that carries a task's baggage.
#include "aiolocals/trace/baggage.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "aiolocals/local.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/json.hpp"  // detail::utf8_sequence

namespace aiolocals {
namespace {

local<baggage> baggage_local{"aiolocals::baggage"};

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: printable ASCII but for
// the space, `"`, `,`, `;` and `\`.
bool is_baggage_octet(unsigned char c) noexcept {
  return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

bool all_baggage_octets(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return is_baggage_octet(static_cast<unsigned char>(c)); });
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` with each ill-formed UTF-8 sequence replaced by U+FFFD.
std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    if (*p < 0x80) {
      out.push_back(static_cast<char>(*p++));
      continue;
    }
    std::size_t consumed = 0;
    if (detail::utf8_sequence(p, end, &consumed) != 0) {
      out.append(reinterpret_cast<const char*>(p), consumed);
    } else {
      out.append("\xEF\xBF\xBD");
    }
    p += consumed;
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      bytes.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      bytes.push_back(text[i]);
    }
  }
  return repair_utf8(bytes);
}

bool needs_encoding(unsigned char c) noexcept { return !is_baggage_octet(c) || c == '%'; }

std::size_t encoded_size(std::string_view value) noexcept {
  std::size_t size = value.size();
  for (char c : value) size += needs_encoding(static_cast<unsigned char>(c)) ? 2 : 0;
  return size;
}

void append_encoded(std::string& out, std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (needs_encoding(byte)) {
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[byte >> 4]);
      out.push_back("0123456789ABCDEF"[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
}

std::size_t member_size(const baggage_entry& entry) noexcept {
  return entry.key.size() + 1 + encoded_size(entry.value) +
         (entry.properties.empty() ? 0 : 1 + entry.properties.size());
}

// `properties` (the text after a member's first `;`) in normal form
// (`k1=v1;k2`, OWS trimmed), or false if it does not match
// `property *( OWS ";" OWS property )`.
bool normalise_properties(std::string_view properties, std::string& out) {
  out.clear();
  while (true) {
    const std::size_t semicolon = properties.find(';');
    const std::string_view property = trim_ows(properties.substr(0, semicolon));
    const std::size_t equals = property.find('=');
    const std::string_view key = trim_ows(property.substr(0, equals));
    if (!is_baggage_key(key)) return false;
    if (!out.empty()) out.push_back(';');
    out.append(key);
    if (equals != std::string_view::npos) {
      const std::string_view value = trim_ows(property.substr(equals + 1));
      if (!all_baggage_octets(value)) return false;
      out.push_back('=');
      out.append(value);
    }
    if (semicolon == std::string_view::npos) return true;
    properties.remove_prefix(semicolon + 1);
  }
}

// One list-member, or false if it does not match the grammar.
bool parse_member(std::string_view member, baggage_entry& entry) {
  const std::size_t semicolon = member.find(';');
  const std::string_view pair = member.substr(0, semicolon);
  const std::size_t equals = pair.find('=');
  if (equals == std::string_view::npos) return false;
  const std::string_view key = trim_ows(pair.substr(0, equals));
  const std::string_view value = trim_ows(pair.substr(equals + 1));
  if (!is_baggage_key(key) || !all_baggage_octets(value)) return false;
  if (semicolon != std::string_view::npos &&
      !normalise_properties(member.substr(semicolon + 1), entry.properties)) {
    return false;
  }
  if (semicolon == std::string_view::npos) entry.properties.clear();
  entry.key.assign(key);
  if (value.find('%') == std::string_view::npos) {
    entry.value.assign(value);  // baggage-octets only: ASCII, nothing to decode
  } else {
    entry.value = percent_decode(value);
  }
  return true;
}

}  // namespace

bool is_baggage_key(std::string_view key) noexcept {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

const baggage_entry* baggage::find(std::string_view key) const noexcept {
  for (const baggage_entry& entry : entries_)
    if (entry.key == key) return &entry;
  return nullptr;
}

bool baggage::put(baggage_entry entry) {
  const std::size_t size = member_size(entry);
  for (baggage_entry& existing : entries_) {
    if (existing.key != entry.key) continue;
    const std::size_t bytes = bytes_ - member_size(existing) + size;
    if (bytes > max_baggage_bytes) return false;
    existing = std::move(entry);
    bytes_ = bytes;
    return true;
  }
  const std::size_t bytes = bytes_ + (entries_.empty() ? 0 : 1) + size;
  if (entries_.size() == max_baggage_members || bytes > max_baggage_bytes) return false;
  entries_.push_back(std::move(entry));
  bytes_ = bytes;
  return true;
}

void baggage::render() {
  text_.clear();
  text_.reserve(bytes_);
  for (const baggage_entry& entry : entries_) {
    if (!text_.empty()) text_.push_back(',');
    text_.append(entry.key);
    text_.push_back('=');
    append_encoded(text_, entry.value);
    if (!entry.properties.empty()) {
      text_.push_back(';');
      text_.append(entry.properties);
    }
  }
}

baggage baggage::with(std::string_view key, std::string_view value,
                      std::string_view properties) const {
  if (!is_baggage_key(key)) {
    std::string shown;
    append_escaped(shown, key.substr(0, 64));
    throw std::invalid_argument("aiolocals: baggage key '" + shown +
                                "' is not an RFC 7230 token: use 1 or more of A-Z a-z 0-9 "
                                "!#$%&'*+-.^_`|~");
  }
  baggage_entry entry{std::string(key), repair_utf8(value), {}};
  if (!properties.empty() && !normalise_properties(properties, entry.properties)) {
    std::string shown;
    append_escaped(shown, properties.substr(0, 64));
    throw std::invalid_argument("aiolocals: baggage properties '" + shown +
                                "' are not `key[=value]` items separated by ';' (keys RFC 7230 "
                                "tokens, values printable ASCII without space \" , ; \\)");
  }
  baggage copy = *this;
  if (!copy.put(std::move(entry))) {
    throw std::length_error(
        "aiolocals: baggage entry '" + std::string(key) + "' would take the baggage past " +
        std::to_string(max_baggage_members) + " entries or " + std::to_string(max_baggage_bytes) +
        " bytes; remove entries first");
  }
  copy.render();
  return copy;
}

baggage baggage::without(std::string_view key) const {
  baggage copy;
  copy.entries_.reserve(entries_.size());
  for (const baggage_entry& entry : entries_)
    if (entry.key != key) copy.put(entry);
  copy.render();
  return copy;
}

baggage parse_baggage(std::span<const std::string_view> headers) {
  baggage result;
  std::size_t members = 0;  // at most: one per comma-separated element
  for (std::string_view header : headers)
    members += 1 + static_cast<std::size_t>(std::count(header.begin(), header.end(), ','));
  result.entries_.reserve(std::min(members, max_baggage_members));
  baggage_entry entry;
  for (std::string_view header : headers) {
    while (true) {
      const std::size_t comma = header.find(',');
      const std::string_view member = trim_ows(header.substr(0, comma));
      // An empty element (`a=1,,b=2`, a header of only OWS) is no member;
      // one that does not match the grammar is dropped alone.
      if (!member.empty() && parse_member(member, entry) && !result.put(std::move(entry))) {
        result.render();
        return result;  // the limits: the members from here on are dropped
      }
      if (comma == std::string_view::npos) break;
      header.remove_prefix(comma + 1);
    }
  }
  result.render();
  return result;
}

baggage parse_baggage(std::string_view header) {
  return parse_baggage(std::span<const std::string_view>(&header, 1));
}

std::string format_baggage(const baggage& b) { return std::string(b.text()); }

const baggage& current_baggage() noexcept {
  static const baggage none;
  const baggage* current = baggage_local.find();
  return current != nullptr ? *current : none;
}

void set_baggage(std::string_view key, std::string_view value, std::string_view properties) {
  baggage_local.set(current_baggage().with(key, value, properties));
}

void remove_baggage(std::string_view key) {
  const baggage& current = current_baggage();
  if (current.find(key) == nullptr) return;
  baggage_local.set(current.without(key));
}

void set_current_baggage(baggage b) { baggage_local.set(std::move(b)); }

}  // namespace aiolocals
