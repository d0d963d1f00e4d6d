// SPDX-License-Identifier: BSL-1.0
// aiolocals/trace/baggage.hpp - W3C Baggage (the Working Draft's `baggage`
// header): application key/value pairs that travel with a request from
// service to service, carried by the task's context like any local.
// Framework-neutral: the core and the standard library.
//
//   aiolocals::set_baggage("tenant", "acme");       // this task and its children
//   aiolocals::current_baggage().find("tenant");     // "acme", or null
//   aiolocals::remove_baggage("tenant");
//
// `track_requests` (aiolocals/beast.hpp) parses the `baggage` headers a
// request arrives with into its context, unless tracking_options says
// clients are not trusted with it, and copies the keys the options name
// into log fields; `propagate()` sends the current baggage on. The parser
// and formatter are public for other frameworks.
//
// Parsing (parse_baggage): several headers are one list (RFC 7230's rule
// for combining them); OWS around keys, values, properties and commas is
// trimmed; a value is percent-decoded (a `%` not followed by two hex
// digits stays as it is), and decoded bytes that are not UTF-8 become
// U+FFFD, as the spec requires. A list-member that does not match the
// grammar (a key that is not an RFC 7230 token, a value with a character
// outside baggage-octet, a malformed property) is dropped and the rest kept:
// "If a system determines that the value of a baggage entry is not in the
// format defined in this specification, it MAY remove that entry before
// propagating the baggage header". Duplicate keys: the last value wins, at
// the place of the first (the spec lets a system deduplicate "by keeping
// the first entry, keeping the last entry, or concatenating values").
// Limits: the spec's minimum is 64 list-members and 8,192 bytes; we keep up
// to max_baggage_members (180, the most its grammar allows) while the
// formatted string stays within max_baggage_bytes (8,192), and drop the
// members after the first that does not fit ("it MAY drop or truncate
// certain baggage entries in any order chosen by the implementation").
//
// Thread-safety: a `baggage` value is immutable once stored in a context
// and may be read from any thread; the functions on the current baggage
// act on the calling thread's current context only.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aiolocals {

/// The most list-members kept (the spec's grammar allows 180).
inline constexpr std::size_t max_baggage_members = 180;
/// The longest formatted baggage-string kept, in bytes (the spec's minimum).
inline constexpr std::size_t max_baggage_bytes = 8192;

/// One list-member: its key, its value (decoded: any bytes, UTF-8 when
/// parsed) and its properties as the text after the value's `;`
/// (`k1=v1;k2`, OWS removed; opaque to the spec, so kept as sent).
struct baggage_entry {
  std::string key;
  std::string value;
  std::string properties;
  friend bool operator==(const baggage_entry&, const baggage_entry&) = default;
};

/// A set of baggage entries, in the order their keys were first seen, one
/// per key, within the limits above. Lookups are linear (a few dozen
/// entries at most is the expected use).
class baggage {
 public:
  baggage() = default;
  std::span<const baggage_entry> entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  /// The entry of `key`, or null.
  const baggage_entry* find(std::string_view key) const noexcept;
  /// The size of format_baggage(*this), in bytes.
  std::size_t formatted_size() const noexcept { return bytes_; }
  /// format_baggage(*this), rendered once when this value was made (what
  /// propagate() sends, with no work per call).
  std::string_view text() const noexcept { return text_; }

  /// A copy with `key` set to `value` and `properties` (replacing an
  /// entry of that key in place). Throws std::invalid_argument naming the
  /// rule when `key` is not an RFC 7230 token or `properties` not
  /// `property *(";" property)` of the spec's grammar (empty is fine), and
  /// std::length_error when the result would exceed the limits above.
  baggage with(std::string_view key, std::string_view value,
               std::string_view properties = {}) const;
  /// A copy without `key`.
  baggage without(std::string_view key) const;

  friend bool operator==(const baggage& a, const baggage& b) { return a.entries_ == b.entries_; }

 private:
  friend baggage parse_baggage(std::span<const std::string_view> headers);
  // Adds or replaces without checks beyond the limits; false (and no
  // change) when the result would not fit.
  bool put(baggage_entry entry);
  void render();
  std::vector<baggage_entry> entries_;
  std::size_t bytes_ = 0;
  std::string text_;
};

/// Whether `key` is an RFC 7230 token (1 or more of A-Z a-z 0-9 and
/// ``!#$%&'*+-.^_`|~``). Linear in the key's length.
bool is_baggage_key(std::string_view key) noexcept;

/// The baggage of the `baggage` header values `headers` (see the file
/// comment); never throws but std::bad_alloc. Linear in the input.
baggage parse_baggage(std::span<const std::string_view> headers);
/// As above for one header value.
baggage parse_baggage(std::string_view header);

/// The baggage-string for `b`: `key=value;properties` members joined by
/// `,`, values percent-encoded where a byte is not a baggage-octet or is
/// `%`; empty for no entries. Always valid by the grammar, at most
/// max_baggage_bytes, and parse_baggage gives `b` back.
std::string format_baggage(const baggage& b);

/// The current context's baggage (empty outside any). One local lookup;
/// valid until the next change of it in this context.
const baggage& current_baggage() noexcept;

/// Sets the entry `key` of the current context's baggage: sent on by
/// every later `propagate()` of this task and of the tasks it spawns from
/// now on. Throws as baggage::with, and context_error in an Asio handler
/// thread's root context (as for any local). Cost: a copy of the baggage.
void set_baggage(std::string_view key, std::string_view value, std::string_view properties = {});

/// Removes the entry `key` (nothing if absent). Cost: a copy of the baggage.
void remove_baggage(std::string_view key);

/// Replaces the current context's baggage with `b` (what request tracking
/// does with a request's headers). Cost: one local write.
void set_current_baggage(baggage b);

}  // namespace aiolocals
