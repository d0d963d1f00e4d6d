// SPDX-License-Identifier: BSL-1.0
// aiolocals/trace/trace_context.hpp - W3C Trace Context Level 1: parsing,
// validating and formatting the `traceparent` and `tracestate` headers, and
// making trace and span ids. Framework-neutral: standard library only.
//
//   std::vector<std::string_view> values = ...;   // every traceparent value
//   if (auto parent = aiolocals::parse_traceparent(values)) {
//     // continue parent->trace; this hop's span: generate_span_id()
//   } else {
//     // absent, duplicated or invalid: restart the trace
//   }
//
// Rules (the Recommendation's processing model): version 00 is exactly
// "00-<32 hex>-<16 hex>-<2 hex>", lowercase hex only; an all-zero trace or
// parent id is invalid; version ff is invalid; a higher version is parsed by
// the forward-compatibility rule (its first 55 characters as version 00,
// then nothing or '-' and anything); more than one traceparent value is
// invalid. `tracestate` is a list of at most 32 `key=value` members (key
// and value grammars as specified, keys unique), at most 512 characters
// once joined; an invalid one is dropped, a valid one passed on unchanged
// (members in order, optional whitespace removed).
// Costs: see docs/benchmarks.md. Thread-safety: every function is
// thread-safe and noexcept except where it allocates a string.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace aiolocals {

/// A 16-byte trace id; all zeros is invalid.
struct trace_id {
  std::array<std::uint8_t, 16> bytes{};
  bool is_valid() const noexcept;
  /// 32 lowercase hex digits.
  std::string to_hex() const;
  friend bool operator==(const trace_id&, const trace_id&) = default;
};

/// An 8-byte span (parent) id; all zeros is invalid.
struct span_id {
  std::array<std::uint8_t, 8> bytes{};
  bool is_valid() const noexcept;
  /// 16 lowercase hex digits.
  std::string to_hex() const;
  friend bool operator==(const span_id&, const span_id&) = default;
};

/// A parsed `traceparent`.
struct trace_parent {
  std::uint8_t version = 0;  ///< as received; what we send is always 00
  trace_id trace;
  span_id parent;          ///< the sender's span: our parent
  std::uint8_t flags = 0;  ///< bit 0: sampled
  bool sampled() const noexcept { return (flags & 0x01) != 0; }
};

/// Where a piece of work stands in a distributed trace: what request
/// tracking stores beside the request id, and what `propagate` sends on.
struct trace_context {
  trace_id trace;          ///< invalid: no trace
  span_id span;            ///< this hop's span (the parent of what it calls)
  span_id parent;          ///< the caller's span; invalid: the trace starts here
  std::uint8_t flags = 0;  ///< W3C trace-flags (bit 0: sampled)
  std::string tracestate;  ///< validated vendor state, passed on unchanged
  bool is_valid() const noexcept { return trace.is_valid() && span.is_valid(); }
};

/// The trace context of a hop that received `traceparent_values` and
/// `tracestate_values`: the caller's trace with a fresh span of our own if
/// exactly one valid traceparent came (and `trust_incoming`), else a new
/// trace (fresh trace id and span, flags 0, no tracestate). tracestate is
/// kept only when the traceparent was.
trace_context continue_or_start_trace(std::span<const std::string_view> traceparent_values,
                                      std::span<const std::string_view> tracestate_values,
                                      bool trust_incoming = true);

/// A new trace: fresh trace id and span id, no parent.
trace_context start_trace();

/// A fresh random trace id / span id (the random bytes behind
/// generate_request_id, never all zeros).
trace_id generate_trace_id();
span_id generate_span_id();

/// One `traceparent` value parsed by the rules above, or nothing.
std::optional<trace_parent> parse_traceparent(std::string_view value) noexcept;

/// Every `traceparent` value a request carried: exactly one valid value
/// gives a parent; none, several or an invalid one give nothing.
std::optional<trace_parent> parse_traceparent(std::span<const std::string_view> values) noexcept;

/// The length of a version-00 `traceparent`.
inline constexpr std::size_t traceparent_size = 55;

/// "00-<trace>-<span>-<flags>": what to send downstream with our own span
/// id as the parent. Always 55 characters, version 00.
std::string format_traceparent(const trace_id& trace, const span_id& span, std::uint8_t flags);

/// The same written into `out` (no allocation); returns a view of `out`.
std::string_view format_traceparent(std::span<char, traceparent_size> out, const trace_id& trace,
                                    const span_id& span, std::uint8_t flags) noexcept;

/// Every `tracestate` value a request carried, joined and validated: the
/// members in order without optional whitespace ("" when there were none),
/// or nothing when any member is invalid, a key repeats, there are more
/// than 32 members or more than 512 characters. Empty members are skipped.
std::optional<std::string> validate_tracestate(std::span<const std::string_view> values);

}  // namespace aiolocals
